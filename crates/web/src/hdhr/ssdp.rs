//! SSDP responder (UDP 1900) for the HDHomeRun emulation: answers UPnP
//! `M-SEARCH` requests for a MediaServer with the URL of our device.xml, and
//! announces it with `NOTIFY ssdp:alive` when it could join the multicast group.
//! See docs/HDHOMERUN.md for the messages.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::discovery::{RECV_ERROR_PAUSE, REPLIES_PER_SECOND, ReplyBudget, local_ip_for};

pub const SSDP_PORT: u16 = 1900;
pub const SSDP_GROUP: Ipv4Addr = Ipv4Addr::new(239, 255, 255, 250);

pub const ST_ALL: &str = "ssdp:all";
pub const ST_ROOT_DEVICE: &str = "upnp:rootdevice";
pub const ST_MEDIA_SERVER: &str = "urn:schemas-upnp-org:device:MediaServer:1";

/// How long a client may cache what we announce (`CACHE-CONTROL: max-age`).
const MAX_AGE_SECS: u32 = 1800;
/// Between two rounds of `ssdp:alive`, well inside [`MAX_AGE_SECS`].
const NOTIFY_INTERVAL: Duration = Duration::from_secs(300);
/// UPnP 1.1 asks for a multicast TTL of 2 by default (the system default is 1).
const MULTICAST_TTL: u32 = 2;
const RECV_BUFFER: usize = 1500;

/// What we announce to one requester.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsdpInfo {
    /// The device's UDN without the `uuid:` prefix (as in device.xml's `<UDN>`).
    pub udn: String,
    /// The absolute URL of device.xml, on the address the requester reached.
    pub location: String,
}

/// A parsed `M-SEARCH * HTTP/1.1` with `MAN: "ssdp:discover"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MSearch {
    /// The search target, as sent.
    pub st: String,
    /// The longest delay the requester allows before a reply, in seconds. We
    /// answer at once, which every MX allows.
    pub mx: Option<u32>,
}

/// Why a datagram is not a discovery search.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SsdpError {
    #[error("not UTF-8 text")]
    NotText,
    #[error("not an `M-SEARCH * HTTP/1.1` request")]
    NotMSearch,
    #[error("no `MAN: \"ssdp:discover\"` header")]
    NotDiscover,
    #[error("no `ST` header")]
    NoSearchTarget,
}

/// Parses an SSDP search. Header names are case-insensitive; the first of a
/// repeated header counts; lines end in CRLF (a bare LF is accepted too).
pub fn parse_msearch(data: &[u8]) -> Result<MSearch, SsdpError> {
    let text = std::str::from_utf8(data).map_err(|_| SsdpError::NotText)?;
    let mut lines = text.lines();
    let request_line: Vec<&str> = lines
        .next()
        .unwrap_or_default()
        .split_whitespace()
        .collect();
    if request_line != ["M-SEARCH", "*", "HTTP/1.1"] {
        return Err(SsdpError::NotMSearch);
    }
    let (mut man, mut st, mut mx) = (None, None, None);
    for line in lines.take_while(|l| !l.is_empty()) {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        let slot = match name.trim() {
            n if n.eq_ignore_ascii_case("MAN") => &mut man,
            n if n.eq_ignore_ascii_case("ST") => &mut st,
            n if n.eq_ignore_ascii_case("MX") => &mut mx,
            _ => continue,
        };
        slot.get_or_insert(value);
    }
    let discover = man
        .map(|m| m.trim_matches('"'))
        .is_some_and(|m| m.eq_ignore_ascii_case("ssdp:discover"));
    if !discover {
        return Err(SsdpError::NotDiscover);
    }
    let st = st
        .filter(|s| !s.is_empty())
        .ok_or(SsdpError::NoSearchTarget)?;
    Ok(MSearch {
        st: st.to_owned(),
        mx: mx.and_then(|m| m.parse().ok()),
    })
}

/// Whether a search target could be ours before we know our UDN: one of the
/// fixed types, or any `uuid:`.
fn may_be_ours(st: &str) -> bool {
    [ST_ALL, ST_ROOT_DEVICE, ST_MEDIA_SERVER]
        .iter()
        .any(|t| st.eq_ignore_ascii_case(t))
        || st.get(..5).is_some_and(|p| p.eq_ignore_ascii_case("uuid:"))
}

/// The `(ST, USN)` pairs to answer a search with: none when it is not for us,
/// one per type we are (root device, UDN, MediaServer) for `ssdp:all` — UPnP
/// wants a reply per type there, not an echo of `ssdp:all` — else one echoing
/// the target asked.
pub fn search_replies(st: &str, udn: &str) -> Vec<(String, String)> {
    let uuid = format!("uuid:{udn}");
    let typed = |st: &str| (st.to_owned(), format!("{uuid}::{st}"));
    if st.eq_ignore_ascii_case(ST_ALL) {
        vec![
            typed(ST_ROOT_DEVICE),
            (uuid.clone(), uuid.clone()),
            typed(ST_MEDIA_SERVER),
        ]
    } else if st.eq_ignore_ascii_case(ST_ROOT_DEVICE) || st.eq_ignore_ascii_case(ST_MEDIA_SERVER) {
        vec![typed(st)]
    } else if st.eq_ignore_ascii_case(&uuid) {
        vec![(st.to_owned(), uuid)]
    } else {
        Vec::new()
    }
}

fn server_header() -> String {
    format!("Linux/1.0 UPnP/1.0 acextream/{}", env!("CARGO_PKG_VERSION"))
}

/// The unicast reply to a search.
pub fn encode_response(st: &str, usn: &str, location: &str) -> String {
    format!(
        "HTTP/1.1 200 OK\r\n\
         CACHE-CONTROL: max-age={MAX_AGE_SECS}\r\n\
         EXT:\r\n\
         LOCATION: {location}\r\n\
         SERVER: {server}\r\n\
         ST: {st}\r\n\
         USN: {usn}\r\n\
         BOOTID.UPNP.ORG: 1\r\n\
         \r\n",
        server = server_header(),
    )
}

/// A multicast `ssdp:alive` announcement of one notification type.
pub fn encode_notify(nt: &str, usn: &str, location: &str) -> String {
    format!(
        "NOTIFY * HTTP/1.1\r\n\
         HOST: {SSDP_GROUP}:{SSDP_PORT}\r\n\
         CACHE-CONTROL: max-age={MAX_AGE_SECS}\r\n\
         LOCATION: {location}\r\n\
         NT: {nt}\r\n\
         NTS: ssdp:alive\r\n\
         SERVER: {server}\r\n\
         USN: {usn}\r\n\
         BOOTID.UPNP.ORG: 1\r\n\
         \r\n",
        server = server_header(),
    )
}

/// A UDN or location that would break the message's framing (a CR or LF, any
/// control character) is not sent.
fn is_header_safe(info: &SsdpInfo) -> bool {
    let safe = |s: &str| !s.is_empty() && !s.chars().any(char::is_control);
    safe(&info.udn) && safe(&info.location)
}

/// Joins the SSDP group on the interface the socket is bound to, when that is
/// IPv4 and not loopback. A failure only costs multicast searches and NOTIFY:
/// unicast searches still work, so it is a warning.
fn join_group(socket: &UdpSocket, bound: IpAddr) -> bool {
    let IpAddr::V4(bound) = bound else {
        return false;
    };
    if bound.is_loopback() {
        return false;
    }
    if let Err(error) = socket.join_multicast_v4(SSDP_GROUP, bound) {
        tracing::warn!(%error, interface = %bound, "SSDP: cannot join {SSDP_GROUP}; only unicast searches will be answered");
        return false;
    }
    if !bound.is_unspecified()
        && let Err(error) = socket2::SockRef::from(socket).set_multicast_if_v4(&bound)
    {
        tracing::debug!(%error, "SSDP: cannot pick the multicast interface");
    }
    if let Err(error) = socket.set_multicast_ttl_v4(MULTICAST_TTL) {
        tracing::debug!(%error, "SSDP: cannot set the multicast TTL");
    }
    true
}

/// Answers SSDP searches on `socket` until `stop` is cancelled, and every five
/// minutes multicasts `ssdp:alive` if the socket joined the SSDP group.
///
/// `info` is asked per search for what to announce; it gets the requester's
/// address and our local IP as the requester sees it (for the LOCATION URL),
/// and may return `None` to stay silent. For NOTIFY the "requester" is the
/// group address `239.255.255.250:1900`.
pub async fn serve_ssdp(
    socket: UdpSocket,
    info: impl Fn(SocketAddr, IpAddr) -> Option<SsdpInfo> + Send + Sync + 'static,
    stop: CancellationToken,
) {
    let bound = match socket.local_addr() {
        Ok(addr) => addr.ip(),
        Err(error) => {
            tracing::warn!(%error, "SSDP: socket has no local address");
            return;
        }
    };
    let joined = join_group(&socket, bound);
    let mut notify = tokio::time::interval(NOTIFY_INTERVAL);
    let mut budget = ReplyBudget::new(REPLIES_PER_SECOND, Instant::now());
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            _ = notify.tick(), if joined => {
                send_alive(&socket, bound, &info).await;
                continue;
            }
            received = socket.recv_from(&mut buf) => received,
        };
        let (len, peer) = match received {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(%error, "SSDP: receive failed");
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        let search = match parse_msearch(buf.get(..len).unwrap_or_default()) {
            Ok(search) => search,
            Err(error) => {
                tracing::debug!(%peer, len, %error, "SSDP: ignored datagram");
                continue;
            }
        };
        if !may_be_ours(&search.st) || !budget.try_take(Instant::now()) {
            continue;
        }
        let local_ip = match local_ip_for(bound, peer) {
            Ok(ip) => ip,
            Err(error) => {
                tracing::debug!(%peer, %error, "SSDP: no route back to requester");
                continue;
            }
        };
        let Some(device) = info(peer, local_ip).filter(is_header_safe) else {
            continue;
        };
        let replies = search_replies(&search.st, &device.udn);
        for (i, (st, usn)) in replies.iter().enumerate() {
            // The first reply spends the token taken above.
            if i > 0 && !budget.try_take(Instant::now()) {
                break;
            }
            let response = encode_response(st, usn, &device.location);
            if let Err(error) = socket.send_to(response.as_bytes(), peer).await {
                tracing::debug!(%peer, %error, "SSDP: reply failed");
            }
        }
        if !replies.is_empty() {
            tracing::debug!(%peer, %local_ip, "SSDP: answered a search");
        }
    }
}

/// Multicasts `ssdp:alive` for the root device, the UDN and the MediaServer type.
async fn send_alive(
    socket: &UdpSocket,
    bound: IpAddr,
    info: &(impl Fn(SocketAddr, IpAddr) -> Option<SsdpInfo> + Sync),
) {
    let group = SocketAddr::from((SSDP_GROUP, SSDP_PORT));
    let local_ip = match local_ip_for(bound, group) {
        Ok(ip) => ip,
        Err(error) => {
            tracing::debug!(%error, "SSDP: no route to the multicast group");
            return;
        }
    };
    let Some(device) = info(group, local_ip).filter(is_header_safe) else {
        return;
    };
    let uuid = format!("uuid:{}", device.udn);
    let announcements = [
        (
            ST_ROOT_DEVICE.to_owned(),
            format!("{uuid}::{ST_ROOT_DEVICE}"),
        ),
        (uuid.clone(), uuid.clone()),
        (
            ST_MEDIA_SERVER.to_owned(),
            format!("{uuid}::{ST_MEDIA_SERVER}"),
        ),
    ];
    for (nt, usn) in &announcements {
        let message = encode_notify(nt, usn, &device.location);
        if let Err(error) = socket.send_to(message.as_bytes(), group).await {
            tracing::debug!(%error, "SSDP: NOTIFY failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hdhr::discovery::bind_udp;
    use proptest::prelude::*;

    const UDN: &str = "4a3f1c2e-0b9d-4d6e-9f10-10439efd0000";

    fn msearch(st: &str) -> String {
        format!(
            "M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: {st}\r\n\r\n"
        )
    }

    #[test]
    fn parses_a_typical_search() {
        assert_eq!(
            parse_msearch(msearch(ST_MEDIA_SERVER).as_bytes()),
            Ok(MSearch {
                st: ST_MEDIA_SERVER.into(),
                mx: Some(1)
            })
        );
    }

    #[test]
    fn header_names_are_case_insensitive_and_mx_is_optional() {
        let request = "M-SEARCH * HTTP/1.1\nhost:239.255.255.250:1900\nman:\"ssdp:discover\"\nst:  upnp:rootdevice  \nSt: ssdp:all\n\n";
        assert_eq!(
            parse_msearch(request.as_bytes()),
            Ok(MSearch {
                st: ST_ROOT_DEVICE.into(),
                mx: None
            })
        );
    }

    #[test]
    fn other_datagrams_are_refused() {
        let without_man = "M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n";
        assert_eq!(
            parse_msearch(without_man.as_bytes()),
            Err(SsdpError::NotDiscover)
        );
        let wrong_man = "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:alive\"\r\nST: ssdp:all\r\n\r\n";
        assert_eq!(
            parse_msearch(wrong_man.as_bytes()),
            Err(SsdpError::NotDiscover)
        );
        let without_st = "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\n";
        assert_eq!(
            parse_msearch(without_st.as_bytes()),
            Err(SsdpError::NoSearchTarget)
        );
        // A header after the blank line is body, not header.
        let st_in_body = "M-SEARCH * HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\n\r\nST: ssdp:all\r\n";
        assert_eq!(
            parse_msearch(st_in_body.as_bytes()),
            Err(SsdpError::NoSearchTarget)
        );
        let notify = encode_notify(ST_ROOT_DEVICE, "uuid:x::upnp:rootdevice", "http://h/");
        assert_eq!(parse_msearch(notify.as_bytes()), Err(SsdpError::NotMSearch));
        let get = "GET / HTTP/1.1\r\nMAN: \"ssdp:discover\"\r\nST: ssdp:all\r\n\r\n";
        assert_eq!(parse_msearch(get.as_bytes()), Err(SsdpError::NotMSearch));
        assert_eq!(parse_msearch(b""), Err(SsdpError::NotMSearch));
        assert_eq!(parse_msearch(&[0xFF, 0xFE]), Err(SsdpError::NotText));
    }

    #[test]
    fn replies_name_the_type_asked_and_our_udn() {
        let uuid = format!("uuid:{UDN}");
        assert_eq!(
            search_replies(ST_MEDIA_SERVER, UDN),
            [(
                ST_MEDIA_SERVER.to_owned(),
                format!("{uuid}::{ST_MEDIA_SERVER}")
            )]
        );
        assert_eq!(
            search_replies(ST_ROOT_DEVICE, UDN),
            [(
                ST_ROOT_DEVICE.to_owned(),
                format!("{uuid}::{ST_ROOT_DEVICE}")
            )]
        );
        assert_eq!(search_replies(&uuid, UDN), [(uuid.clone(), uuid.clone())]);
        let all: Vec<String> = search_replies("SSDP:ALL", UDN)
            .into_iter()
            .map(|(st, _)| st)
            .collect();
        assert_eq!(all, [ST_ROOT_DEVICE, uuid.as_str(), ST_MEDIA_SERVER]);
        assert!(search_replies("urn:schemas-upnp-org:device:Printer:1", UDN).is_empty());
        assert!(search_replies("uuid:someone-else", UDN).is_empty());
        assert!(!may_be_ours("urn:schemas-upnp-org:device:Printer:1"));
        assert!(may_be_ours("UUID:anything"));
    }

    #[test]
    fn the_response_is_exact() {
        let response = encode_response(
            ST_MEDIA_SERVER,
            &format!("uuid:{UDN}::{ST_MEDIA_SERVER}"),
            "http://192.168.1.10:8080/device.xml",
        );
        let expected = format!(
            "HTTP/1.1 200 OK\r\n\
             CACHE-CONTROL: max-age=1800\r\n\
             EXT:\r\n\
             LOCATION: http://192.168.1.10:8080/device.xml\r\n\
             SERVER: Linux/1.0 UPnP/1.0 acextream/{}\r\n\
             ST: urn:schemas-upnp-org:device:MediaServer:1\r\n\
             USN: uuid:{UDN}::urn:schemas-upnp-org:device:MediaServer:1\r\n\
             BOOTID.UPNP.ORG: 1\r\n\
             \r\n",
            env!("CARGO_PKG_VERSION")
        );
        assert_eq!(response, expected);
    }

    #[test]
    fn the_notify_announces_alive() {
        let notify = encode_notify(ST_ROOT_DEVICE, "uuid:u::upnp:rootdevice", "http://h/d.xml");
        assert!(notify.starts_with("NOTIFY * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\n"));
        assert!(notify.contains("\r\nNT: upnp:rootdevice\r\nNTS: ssdp:alive\r\n"));
        assert!(notify.contains("\r\nUSN: uuid:u::upnp:rootdevice\r\n"));
        assert!(notify.ends_with("\r\n\r\n"));
    }

    #[test]
    fn info_that_would_break_the_framing_is_not_sent() {
        let good = SsdpInfo {
            udn: UDN.into(),
            location: "http://h/device.xml".into(),
        };
        assert!(is_header_safe(&good));
        let injected = SsdpInfo {
            location: "http://h/\r\nX-Evil: 1".into(),
            ..good.clone()
        };
        assert!(!is_header_safe(&injected));
        assert!(!is_header_safe(&SsdpInfo {
            udn: String::new(),
            ..good
        }));
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_bytes(data in proptest::collection::vec(any::<u8>(), 0..256)) {
            let _ = parse_msearch(&data);
        }

        #[test]
        fn parsing_never_panics_on_header_like_text(
            headers in proptest::collection::vec("[A-Za-z: \"\r\n-]{0,30}", 0..8),
        ) {
            let text = format!("M-SEARCH * HTTP/1.1\r\n{}", headers.join("\r\n"));
            if let Ok(search) = parse_msearch(text.as_bytes()) {
                prop_assert!(!search.st.is_empty());
            }
        }
    }

    const PATIENCE: Duration = Duration::from_secs(10);

    async fn start_server() -> (SocketAddr, CancellationToken, tokio::task::JoinHandle<()>) {
        let socket = bind_udp(Ipv4Addr::LOCALHOST.into(), 0).unwrap();
        let addr = socket.local_addr().unwrap();
        let port = addr.port();
        let stop = CancellationToken::new();
        let server = tokio::spawn(serve_ssdp(
            socket,
            move |_peer, local_ip| {
                Some(SsdpInfo {
                    udn: UDN.into(),
                    location: format!("http://{local_ip}:{port}/device.xml"),
                })
            },
            stop.clone(),
        ));
        (addr, stop, server)
    }

    async fn receive(client: &UdpSocket) -> String {
        let mut buf = vec![0u8; 2048];
        let (len, _) = tokio::time::timeout(PATIENCE, client.recv_from(&mut buf))
            .await
            .expect("a reply")
            .unwrap();
        String::from_utf8(buf[..len].to_vec()).unwrap()
    }

    fn header<'a>(response: &'a str, name: &str) -> Option<&'a str> {
        response
            .lines()
            .filter_map(|l| l.split_once(':'))
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.trim())
    }

    fn assert_nothing_queued(client: &UdpSocket) {
        let mut buf = [0u8; 64];
        assert_eq!(
            client.try_recv_from(&mut buf).unwrap_err().kind(),
            std::io::ErrorKind::WouldBlock
        );
    }

    #[tokio::test]
    async fn answers_a_unicast_search_with_our_location() {
        let (addr, stop, server) = start_server().await;
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        client
            .send_to(msearch(ST_MEDIA_SERVER).as_bytes(), addr)
            .await
            .unwrap();

        let response = receive(&client).await;
        assert!(response.starts_with("HTTP/1.1 200 OK\r\n"));
        assert!(response.ends_with("\r\n\r\n"));
        let location = format!("http://127.0.0.1:{}/device.xml", addr.port());
        assert_eq!(header(&response, "LOCATION"), Some(location.as_str()));
        assert_eq!(header(&response, "ST"), Some(ST_MEDIA_SERVER));
        let usn = format!("uuid:{UDN}::{ST_MEDIA_SERVER}");
        assert_eq!(header(&response, "USN"), Some(usn.as_str()));

        stop.cancel();
        tokio::time::timeout(PATIENCE, server)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn other_targets_and_garbage_get_no_reply() {
        let (addr, stop, server) = start_server().await;
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let ignored = [
            msearch("urn:schemas-upnp-org:device:Printer:1").into_bytes(),
            msearch("uuid:someone-else").into_bytes(),
            b"M-SEARCH * HTTP/1.1\r\nST: ssdp:all\r\n\r\n".to_vec(),
            vec![0xFF; 40],
            Vec::new(),
        ];
        for datagram in &ignored {
            client.send_to(datagram, addr).await.unwrap();
        }
        let ours = format!("uuid:{UDN}");
        client
            .send_to(msearch(&ours).as_bytes(), addr)
            .await
            .unwrap();

        // Datagrams are handled in order: a reply to any ignored one would come first.
        let response = receive(&client).await;
        assert_eq!(header(&response, "ST"), Some(ours.as_str()));
        assert_eq!(header(&response, "USN"), Some(ours.as_str()));
        assert_nothing_queued(&client);

        stop.cancel();
        tokio::time::timeout(PATIENCE, server)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn ssdp_all_gets_one_reply_per_type() {
        let (addr, stop, server) = start_server().await;
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        client
            .send_to(msearch(ST_ALL).as_bytes(), addr)
            .await
            .unwrap();
        let mut targets = Vec::new();
        for _ in 0..3 {
            let response = receive(&client).await;
            targets.push(header(&response, "ST").unwrap().to_owned());
        }
        assert_eq!(
            targets,
            [
                ST_ROOT_DEVICE.to_owned(),
                format!("uuid:{UDN}"),
                ST_MEDIA_SERVER.to_owned()
            ]
        );
        // Then a search for the root device alone: its reply is the next datagram.
        client
            .send_to(msearch(ST_ROOT_DEVICE).as_bytes(), addr)
            .await
            .unwrap();
        let response = receive(&client).await;
        assert_eq!(header(&response, "ST"), Some(ST_ROOT_DEVICE));
        assert_nothing_queued(&client);

        stop.cancel();
        tokio::time::timeout(PATIENCE, server)
            .await
            .unwrap()
            .unwrap();
    }
}
