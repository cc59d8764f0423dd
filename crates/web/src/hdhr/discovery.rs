//! SiliconDust's HDHomeRun discovery protocol (UDP 65001): the packet codec, the
//! device-id check digit and the responder that makes Plex, Jellyfin and Emby find
//! us as a network tuner. See docs/HDHOMERUN.md for the format byte by byte.
//!
//! A packet is `u16 type`, `u16 payload length`, the payload (tag-length-value
//! records) and a CRC-32 (IEEE) of everything before it. Header and values are
//! big-endian, the CRC alone is little-endian.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, Socket, Type};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

/// The UDP port HDHomeRun clients broadcast their discovery requests to.
pub const DISCOVERY_PORT: u16 = 65001;

pub const TYPE_DISCOVER_REQ: u16 = 0x0002;
pub const TYPE_DISCOVER_RPY: u16 = 0x0003;

pub const TAG_DEVICE_TYPE: u8 = 0x01;
pub const TAG_DEVICE_ID: u8 = 0x02;
pub const TAG_TUNER_COUNT: u8 = 0x10;
pub const TAG_LINEUP_URL: u8 = 0x27;
pub const TAG_BASE_URL: u8 = 0x2A;
pub const TAG_DEVICE_AUTH: u8 = 0x2B;
/// Several device types at once (a list of u32), sent by newer libhdhomerun when
/// a client looks for tuners and storage devices in one request.
pub const TAG_MULTI_TYPE: u8 = 0x2D;

pub const DEVICE_TYPE_TUNER: u32 = 0x0000_0001;
pub const DEVICE_TYPE_WILDCARD: u32 = 0xFFFF_FFFF;
pub const DEVICE_ID_WILDCARD: u32 = 0xFFFF_FFFF;

/// Header (type + length) and trailing CRC around the payload.
const FRAME_OVERHEAD: usize = 8;
/// libhdhomerun's `HDHOMERUN_MAX_PAYLOAD_SIZE`: a reply must stay under it.
const MAX_PAYLOAD: usize = 1452;
/// Each string of a reply is cut to this many bytes so three of them always fit
/// in [`MAX_PAYLOAD`] (real URLs are a few dozen bytes).
const MAX_REPLY_STRING: usize = 400;
/// A receive buffer of one Ethernet MTU: a discovery request is 20 bytes.
const RECV_BUFFER: usize = 1500;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

/// What is wrong with a packet that was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PacketError {
    #[error("packet of {0} bytes is shorter than a header and a CRC")]
    TooShort(usize),
    #[error("packet of {actual} bytes, its header announces {expected}")]
    LengthMismatch { expected: usize, actual: usize },
    #[error("CRC mismatch")]
    BadCrc,
    #[error("a TLV record runs past the end of the payload")]
    TruncatedTlv,
    #[error("packet type {0:#06x} is not a discovery request")]
    WrongType(u16),
    #[error("tag {0:#04x} has a value of the wrong length")]
    BadValue(u8),
}

/// One tag-length-value record of a payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tlv {
    pub tag: u8,
    pub value: Vec<u8>,
}

/// A packet whose frame and CRC checked out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    pub packet_type: u16,
    pub tlvs: Vec<Tlv>,
}

impl Packet {
    /// The value of the first record with this tag.
    pub fn get(&self, tag: u8) -> Option<&[u8]> {
        self.tlvs
            .iter()
            .find(|t| t.tag == tag)
            .map(|t| t.value.as_slice())
    }

    /// The first record with this tag read as a big-endian u32.
    pub fn get_u32(&self, tag: u8) -> Option<u32> {
        let bytes: [u8; 4] = self.get(tag)?.try_into().ok()?;
        Some(u32::from_be_bytes(bytes))
    }
}

/// Who a discovery request is looking for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiscoverRequest {
    /// The device types asked for; empty when the request named none (any type).
    pub device_types: Vec<u32>,
    /// The device id asked for, [`DEVICE_ID_WILDCARD`] for any (also when absent:
    /// libhdhomerun leaves the tag out for a wildcard search).
    pub device_id: u32,
}

impl DiscoverRequest {
    /// Whether a tuner with this id should answer.
    pub fn matches(&self, our_device_id: u32) -> bool {
        self.wants_tuner()
            && (self.device_id == DEVICE_ID_WILDCARD || self.device_id == our_device_id)
    }

    /// Whether the request's device-type filter lets a tuner answer.
    pub fn wants_tuner(&self) -> bool {
        self.device_types.is_empty()
            || self
                .device_types
                .iter()
                .any(|t| *t == DEVICE_TYPE_WILDCARD || *t == DEVICE_TYPE_TUNER)
    }
}

/// What we announce about ourselves in a discovery reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceInfo {
    pub device_id: u32,
    pub tuner_count: u8,
    /// `http://<ip the requester reached>:<port>`, no trailing slash.
    pub base_url: String,
    pub lineup_url: String,
    /// Left out of the reply when empty.
    pub device_auth: String,
}

/// Decodes a packet of any type: frame length, CRC and TLV bounds are checked,
/// the records are returned as they are.
pub fn parse_packet(data: &[u8]) -> Result<Packet, PacketError> {
    let (header, rest) = data
        .split_first_chunk::<4>()
        .ok_or(PacketError::TooShort(data.len()))?;
    if data.len() < FRAME_OVERHEAD {
        return Err(PacketError::TooShort(data.len()));
    }
    let [t0, t1, l0, l1] = *header;
    let packet_type = u16::from_be_bytes([t0, t1]);
    let payload_len = usize::from(u16::from_be_bytes([l0, l1]));
    let expected = payload_len + FRAME_OVERHEAD;
    if data.len() != expected {
        return Err(PacketError::LengthMismatch {
            expected,
            actual: data.len(),
        });
    }
    let (payload, crc) = rest.split_at(payload_len);
    let crc: [u8; 4] = crc.try_into().map_err(|_| PacketError::BadCrc)?;
    let framed = data.get(..4 + payload_len).ok_or(PacketError::BadCrc)?;
    if CRC32.checksum(framed) != u32::from_le_bytes(crc) {
        return Err(PacketError::BadCrc);
    }
    Ok(Packet {
        packet_type,
        tlvs: parse_tlvs(payload)?,
    })
}

fn parse_tlvs(mut payload: &[u8]) -> Result<Vec<Tlv>, PacketError> {
    let mut tlvs = Vec::new();
    while let [tag, rest @ ..] = payload {
        let (len, rest) = match rest {
            [short, rest @ ..] if short & 0x80 == 0 => (usize::from(*short), rest),
            [low, high, rest @ ..] => (usize::from(low & 0x7F) | usize::from(*high) << 7, rest),
            _ => return Err(PacketError::TruncatedTlv),
        };
        if rest.len() < len {
            return Err(PacketError::TruncatedTlv);
        }
        let (value, rest) = rest.split_at(len);
        tlvs.push(Tlv {
            tag: *tag,
            value: value.to_vec(),
        });
        payload = rest;
    }
    Ok(tlvs)
}

/// Decodes a discovery request: a well-formed packet of type 0x0002 whose
/// device-type and device-id records (if present) are 4 bytes each.
pub fn parse_request(data: &[u8]) -> Result<DiscoverRequest, PacketError> {
    let packet = parse_packet(data)?;
    if packet.packet_type != TYPE_DISCOVER_REQ {
        return Err(PacketError::WrongType(packet.packet_type));
    }
    let mut request = DiscoverRequest {
        device_types: Vec::new(),
        device_id: DEVICE_ID_WILDCARD,
    };
    for tlv in &packet.tlvs {
        match tlv.tag {
            TAG_DEVICE_TYPE => request.device_types.push(be_u32(tlv)?),
            TAG_MULTI_TYPE => {
                if tlv.value.is_empty() || tlv.value.len() % 4 != 0 {
                    return Err(PacketError::BadValue(tlv.tag));
                }
                request.device_types.extend(
                    tlv.value
                        .chunks_exact(4)
                        .map(|c| u32::from_be_bytes(c.try_into().unwrap_or_default())),
                );
            }
            TAG_DEVICE_ID => request.device_id = be_u32(tlv)?,
            // Unknown tags are skipped, as libhdhomerun does.
            _ => {}
        }
    }
    Ok(request)
}

fn be_u32(tlv: &Tlv) -> Result<u32, PacketError> {
    let bytes: [u8; 4] = tlv
        .value
        .as_slice()
        .try_into()
        .map_err(|_| PacketError::BadValue(tlv.tag))?;
    Ok(u32::from_be_bytes(bytes))
}

/// Frames records into a packet: header, TLVs (one- or two-byte lengths), CRC.
/// A value is cut to 0x7FFF bytes (the largest two-byte length); the caller keeps
/// the payload under 64 KiB.
pub fn encode_packet(packet_type: u16, tlvs: &[Tlv]) -> Vec<u8> {
    let mut payload = Vec::new();
    for tlv in tlvs {
        let value = tlv.value.get(..0x7FFF).unwrap_or(&tlv.value);
        payload.push(tlv.tag);
        let len = value.len();
        if len <= 0x7F {
            payload.push(len as u8);
        } else {
            payload.push(0x80 | (len & 0x7F) as u8);
            payload.push((len >> 7) as u8);
        }
        payload.extend_from_slice(value);
    }
    let payload_len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
    payload.truncate(usize::from(payload_len));
    let mut packet = Vec::with_capacity(payload.len() + FRAME_OVERHEAD);
    packet.extend_from_slice(&packet_type.to_be_bytes());
    packet.extend_from_slice(&payload_len.to_be_bytes());
    packet.extend_from_slice(&payload);
    let crc = CRC32.checksum(&packet);
    packet.extend_from_slice(&crc.to_le_bytes());
    packet
}

/// The discovery reply (type 0x0003) announcing one tuner device.
pub fn encode_reply(info: &DeviceInfo) -> Vec<u8> {
    let string = |tag, s: &str| Tlv {
        tag,
        value: truncate_utf8(s, MAX_REPLY_STRING).as_bytes().to_vec(),
    };
    let mut tlvs = vec![
        Tlv {
            tag: TAG_DEVICE_TYPE,
            value: DEVICE_TYPE_TUNER.to_be_bytes().to_vec(),
        },
        Tlv {
            tag: TAG_DEVICE_ID,
            value: info.device_id.to_be_bytes().to_vec(),
        },
        Tlv {
            tag: TAG_TUNER_COUNT,
            value: vec![info.tuner_count],
        },
        string(TAG_BASE_URL, &info.base_url),
        string(TAG_LINEUP_URL, &info.lineup_url),
    ];
    if !info.device_auth.is_empty() {
        tlvs.push(string(TAG_DEVICE_AUTH, &info.device_auth));
    }
    let packet = encode_packet(TYPE_DISCOVER_RPY, &tlvs);
    debug_assert!(packet.len() <= MAX_PAYLOAD + FRAME_OVERHEAD);
    packet
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character.
fn truncate_utf8(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// libhdhomerun's permutation of a nibble (`hdhomerun_discover_validate_device_id`).
const CHECK_LOOKUP: [u8; 16] = [
    0xA, 0x5, 0xF, 0x6, 0x7, 0xC, 0x1, 0xB, 0x9, 0x2, 0x8, 0xD, 0x4, 0x3, 0xE, 0x0,
];

/// The check digit the upper seven nibbles call for: nibbles 7, 5, 3 and 1
/// (counting from the least significant, 0) go through [`CHECK_LOOKUP`], nibbles
/// 6, 4 and 2 are taken as they are, all XORed together.
fn check_digit(id: u32) -> u32 {
    let nibble = |n: u32| ((id >> (4 * n)) & 0xF) as usize;
    let lookup = |n: u32| u32::from(CHECK_LOOKUP[nibble(n)]);
    lookup(7)
        ^ nibble(6) as u32
        ^ lookup(5)
        ^ nibble(4) as u32
        ^ lookup(3)
        ^ nibble(2) as u32
        ^ lookup(1)
}

/// Whether a device id carries a valid check digit in its low nibble, as
/// libhdhomerun clients (Plex among them) require before they accept a device.
pub fn device_id_is_valid(id: u32) -> bool {
    check_digit(id) == id & 0xF
}

/// `id` with its low nibble replaced by the check digit, so that it validates.
pub fn with_check_digit(id: u32) -> u32 {
    (id & !0xF) | check_digit(id)
}

/// Binds a UDP socket for a discovery responder: address reuse (and port reuse
/// on unix) so it can share the port with another responder, broadcasts allowed,
/// non-blocking, registered with the current tokio runtime.
pub fn bind_udp(ip: IpAddr, port: u16) -> io::Result<UdpSocket> {
    let addr = SocketAddr::new(ip, port);
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_address(true)?;
    #[cfg(all(
        unix,
        not(any(target_os = "solaris", target_os = "illumos", target_os = "cygwin"))
    ))]
    socket.set_reuse_port(true)?;
    socket.set_broadcast(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    UdpSocket::from_std(socket.into())
}

/// The local address a peer reached us on: the bound address when it is a
/// specific one, else the source address the routing table picks for the peer
/// (found by connecting a throwaway UDP socket, which sends nothing).
pub(crate) fn local_ip_for(bound: IpAddr, peer: SocketAddr) -> io::Result<IpAddr> {
    if !bound.is_unspecified() {
        return Ok(bound.to_canonical());
    }
    let any: IpAddr = match peer {
        SocketAddr::V4(_) => Ipv4Addr::UNSPECIFIED.into(),
        SocketAddr::V6(_) => Ipv6Addr::UNSPECIFIED.into(),
    };
    let probe = std::net::UdpSocket::bind(SocketAddr::new(any, 0))?;
    probe.connect(peer)?;
    Ok(probe.local_addr()?.ip().to_canonical())
}

/// A token bucket bounding the replies a responder sends: a flood of requests
/// with a spoofed source address must not turn us into an amplifier.
pub(crate) struct ReplyBudget {
    tokens: f64,
    burst: f64,
    per_second: f64,
    last: Instant,
}

/// Replies per second a responder sends at most, overall.
pub(crate) const REPLIES_PER_SECOND: u32 = 50;

impl ReplyBudget {
    pub(crate) fn new(per_second: u32, now: Instant) -> Self {
        let per_second = f64::from(per_second);
        Self {
            tokens: per_second,
            burst: per_second,
            per_second,
            last: now,
        }
    }

    /// Takes one token if there is one.
    pub(crate) fn try_take(&mut self, now: Instant) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.per_second).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// How long a responder pauses after a receive error, so a persistent one (a
/// closed socket) does not spin the loop.
pub(crate) const RECV_ERROR_PAUSE: Duration = Duration::from_millis(100);

/// Answers HDHomeRun discovery requests on `socket` until `stop` is cancelled.
///
/// `info` is asked, per request, for the device to announce; it gets the
/// requester's address and our local IP as the requester sees it (to build the
/// base URL from), and may return `None` to stay silent. Malformed packets and
/// requests for another device id or type get no reply.
pub async fn serve_discovery(
    socket: UdpSocket,
    info: impl Fn(SocketAddr, IpAddr) -> Option<DeviceInfo> + Send + Sync + 'static,
    stop: CancellationToken,
) {
    let bound = match socket.local_addr() {
        Ok(addr) => addr.ip(),
        Err(error) => {
            tracing::warn!(%error, "HDHomeRun discovery: socket has no local address");
            return;
        }
    };
    let mut budget = ReplyBudget::new(REPLIES_PER_SECOND, Instant::now());
    let mut buf = vec![0u8; RECV_BUFFER];
    loop {
        let received = tokio::select! {
            () = stop.cancelled() => return,
            received = socket.recv_from(&mut buf) => received,
        };
        let (len, peer) = match received {
            Ok(r) => r,
            Err(error) => {
                tracing::debug!(%error, "HDHomeRun discovery: receive failed");
                tokio::time::sleep(RECV_ERROR_PAUSE).await;
                continue;
            }
        };
        let request = match parse_request(buf.get(..len).unwrap_or_default()) {
            Ok(request) => request,
            Err(error) => {
                tracing::debug!(%peer, len, %error, "HDHomeRun discovery: ignored packet");
                continue;
            }
        };
        if !request.wants_tuner() {
            tracing::debug!(%peer, "HDHomeRun discovery: request for another device type");
            continue;
        }
        if !budget.try_take(Instant::now()) {
            tracing::debug!(%peer, "HDHomeRun discovery: reply budget spent, request dropped");
            continue;
        }
        let local_ip = match local_ip_for(bound, peer) {
            Ok(ip) => ip,
            Err(error) => {
                tracing::debug!(%peer, %error, "HDHomeRun discovery: no route back to requester");
                continue;
            }
        };
        let Some(device) = info(peer, local_ip) else {
            continue;
        };
        if !request.matches(device.device_id) {
            tracing::debug!(%peer, "HDHomeRun discovery: request for another device");
            continue;
        }
        let reply = encode_reply(&device);
        match socket.send_to(&reply, peer).await {
            Ok(_) => tracing::debug!(%peer, %local_ip, "HDHomeRun discovery: answered"),
            Err(error) => tracing::debug!(%peer, %error, "HDHomeRun discovery: reply failed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// What Jellyfin broadcasts (HdHomerunHost.cs `discBytes`).
    const JELLYFIN_REQUEST: [u8; 20] = [
        0x00, 0x02, 0x00, 0x0C, 0x01, 0x04, 0xFF, 0xFF, 0xFF, 0xFF, 0x02, 0x04, 0xFF, 0xFF, 0xFF,
        0xFF, 0x73, 0xCC, 0x7D, 0x8F,
    ];

    fn sample_device() -> DeviceInfo {
        DeviceInfo {
            device_id: 0x1043_9EFD,
            tuner_count: 2,
            base_url: "http://192.168.1.10:8080".into(),
            lineup_url: "http://192.168.1.10:8080/lineup.json".into(),
            device_auth: "abc123".into(),
        }
    }

    /// The reply to [`sample_device`], as printed in docs/HDHOMERUN.md.
    const SAMPLE_REPLY_HEX: &str = "
        00 03 00 57 01 04 00 00 00 01 02 04 10 43 9e fd
        10 01 02 2a 18 68 74 74 70 3a 2f 2f 31 39 32 2e
        31 36 38 2e 31 2e 31 30 3a 38 30 38 30 27 24 68
        74 74 70 3a 2f 2f 31 39 32 2e 31 36 38 2e 31 2e
        31 30 3a 38 30 38 30 2f 6c 69 6e 65 75 70 2e 6a
        73 6f 6e 2b 06 61 62 63 31 32 33 c6 0a e6 44";

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn jellyfin_request_parses_as_a_wildcard_search() {
        assert_eq!(CRC32.checksum(&JELLYFIN_REQUEST[..16]), 0x8F7D_CC73);
        let request = parse_request(&JELLYFIN_REQUEST).unwrap();
        assert_eq!(
            request,
            DiscoverRequest {
                device_types: vec![DEVICE_TYPE_WILDCARD],
                device_id: DEVICE_ID_WILDCARD,
            }
        );
        assert!(request.matches(0x1043_9EFD));
    }

    #[test]
    fn our_encoder_reproduces_jellyfins_request() {
        let tlvs = [
            Tlv {
                tag: TAG_DEVICE_TYPE,
                value: DEVICE_TYPE_WILDCARD.to_be_bytes().to_vec(),
            },
            Tlv {
                tag: TAG_DEVICE_ID,
                value: DEVICE_ID_WILDCARD.to_be_bytes().to_vec(),
            },
        ];
        assert_eq!(encode_packet(TYPE_DISCOVER_REQ, &tlvs), JELLYFIN_REQUEST);
    }

    #[test]
    fn sample_reply_matches_the_documented_bytes() {
        let reply = encode_reply(&sample_device());
        let documented: String = SAMPLE_REPLY_HEX.split_whitespace().collect();
        assert_eq!(hex(&reply), documented);
    }

    #[test]
    fn reply_decodes_to_what_we_announced() {
        let reply = encode_reply(&sample_device());
        assert!(
            reply.len() > 13 && reply[1] == 3,
            "Jellyfin's acceptance test"
        );
        let packet = parse_packet(&reply).unwrap();
        assert_eq!(packet.packet_type, TYPE_DISCOVER_RPY);
        let tags: Vec<u8> = packet.tlvs.iter().map(|t| t.tag).collect();
        assert_eq!(
            tags,
            [
                TAG_DEVICE_TYPE,
                TAG_DEVICE_ID,
                TAG_TUNER_COUNT,
                TAG_BASE_URL,
                TAG_LINEUP_URL,
                TAG_DEVICE_AUTH
            ]
        );
        assert_eq!(packet.get_u32(TAG_DEVICE_TYPE), Some(DEVICE_TYPE_TUNER));
        assert_eq!(packet.get_u32(TAG_DEVICE_ID), Some(0x1043_9EFD));
        assert_eq!(packet.get(TAG_TUNER_COUNT), Some(&[2u8][..]));
        assert_eq!(
            packet.get(TAG_BASE_URL),
            Some(&b"http://192.168.1.10:8080"[..])
        );
        assert_eq!(
            packet.get(TAG_LINEUP_URL),
            Some(&b"http://192.168.1.10:8080/lineup.json"[..])
        );
        assert_eq!(packet.get(TAG_DEVICE_AUTH), Some(&b"abc123"[..]));
    }

    #[test]
    fn an_empty_device_auth_is_left_out() {
        let device = DeviceInfo {
            device_auth: String::new(),
            ..sample_device()
        };
        let packet = parse_packet(&encode_reply(&device)).unwrap();
        assert_eq!(packet.get(TAG_DEVICE_AUTH), None);
        assert_eq!(packet.tlvs.len(), 5);
    }

    #[test]
    fn long_values_use_the_two_byte_length() {
        let value = vec![b'x'; 300];
        let packet = encode_packet(
            TYPE_DISCOVER_RPY,
            &[Tlv {
                tag: TAG_BASE_URL,
                value: value.clone(),
            }],
        );
        // 300 = 0b10_0101100: low seven bits 0x2C with the high bit set, then 300 >> 7 = 2.
        assert_eq!(&packet[4..7], &[TAG_BASE_URL, 0xAC, 0x02]);
        assert_eq!(
            parse_packet(&packet).unwrap().get(TAG_BASE_URL),
            Some(&value[..])
        );
    }

    #[test]
    fn over_long_strings_are_cut_on_a_character_boundary() {
        let device = DeviceInfo {
            base_url: "é".repeat(300),
            ..sample_device()
        };
        let reply = encode_reply(&device);
        assert!(reply.len() <= MAX_PAYLOAD + FRAME_OVERHEAD);
        let packet = parse_packet(&reply).unwrap();
        let base = std::str::from_utf8(packet.get(TAG_BASE_URL).unwrap()).unwrap();
        assert_eq!(base, "é".repeat(200));
    }

    #[test]
    fn malformed_packets_are_refused_with_a_reason() {
        assert_eq!(parse_request(&[]), Err(PacketError::TooShort(0)));
        assert_eq!(
            parse_request(&JELLYFIN_REQUEST[..7]),
            Err(PacketError::TooShort(7))
        );
        assert_eq!(
            parse_request(&JELLYFIN_REQUEST[..19]),
            Err(PacketError::LengthMismatch {
                expected: 20,
                actual: 19
            })
        );
        let mut bad_crc = JELLYFIN_REQUEST;
        bad_crc[19] ^= 1;
        assert_eq!(parse_request(&bad_crc), Err(PacketError::BadCrc));
        let mut flipped = JELLYFIN_REQUEST;
        flipped[8] ^= 1;
        assert_eq!(parse_request(&flipped), Err(PacketError::BadCrc));

        // A TLV announcing more bytes than the payload holds, correctly framed.
        let truncated = frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_ID, 0x04, 0xFF, 0xFF]);
        assert_eq!(parse_request(&truncated), Err(PacketError::TruncatedTlv));
        // A two-byte length whose second byte is missing.
        let cut_length = frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_ID, 0x84]);
        assert_eq!(parse_request(&cut_length), Err(PacketError::TruncatedTlv));
        let short_id = frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_ID, 0x02, 0xFF, 0xFF]);
        assert_eq!(
            parse_request(&short_id),
            Err(PacketError::BadValue(TAG_DEVICE_ID))
        );
        let multi = frame(TYPE_DISCOVER_REQ, &[TAG_MULTI_TYPE, 0x03, 0, 0, 1]);
        assert_eq!(
            parse_request(&multi),
            Err(PacketError::BadValue(TAG_MULTI_TYPE))
        );

        let reply = encode_reply(&sample_device());
        assert_eq!(
            parse_request(&reply),
            Err(PacketError::WrongType(TYPE_DISCOVER_RPY))
        );
    }

    /// Header + payload + CRC around raw payload bytes (which may be malformed).
    fn frame(packet_type: u16, payload: &[u8]) -> Vec<u8> {
        let mut packet = packet_type.to_be_bytes().to_vec();
        packet.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        packet.extend_from_slice(payload);
        let crc = CRC32.checksum(&packet);
        packet.extend_from_slice(&crc.to_le_bytes());
        packet
    }

    fn request(types: &[u32], id: Option<u32>) -> Vec<u8> {
        let mut tlvs = Vec::new();
        match types {
            [] => {}
            [one] => tlvs.push(Tlv {
                tag: TAG_DEVICE_TYPE,
                value: one.to_be_bytes().to_vec(),
            }),
            many => tlvs.push(Tlv {
                tag: TAG_MULTI_TYPE,
                value: many.iter().flat_map(|t| t.to_be_bytes()).collect(),
            }),
        }
        if let Some(id) = id {
            tlvs.push(Tlv {
                tag: TAG_DEVICE_ID,
                value: id.to_be_bytes().to_vec(),
            });
        }
        encode_packet(TYPE_DISCOVER_REQ, &tlvs)
    }

    #[test]
    fn only_tuner_or_wildcard_searches_for_our_id_match() {
        let ours = 0x1043_9EFD;
        let matches = |types: &[u32], id| parse_request(&request(types, id)).unwrap().matches(ours);
        assert!(
            matches(&[DEVICE_TYPE_TUNER], None),
            "libhdhomerun omits a wildcard id"
        );
        assert!(matches(&[DEVICE_TYPE_TUNER], Some(ours)));
        assert!(matches(&[], None));
        assert!(
            matches(&[5, DEVICE_TYPE_TUNER], None),
            "tuner among a multi-type search"
        );
        assert!(!matches(&[5], None), "storage devices only");
        assert!(!matches(&[DEVICE_TYPE_TUNER], Some(0x105902DB)));
        assert!(!matches(&[DEVICE_TYPE_WILDCARD], Some(0x105902DB)));
    }

    #[test]
    fn unknown_tags_are_skipped() {
        let packet = frame(
            TYPE_DISCOVER_REQ,
            &[0x77, 0x01, 0x00, TAG_DEVICE_TYPE, 0x04, 0, 0, 0, 1],
        );
        assert_eq!(
            parse_request(&packet).unwrap().device_types,
            [DEVICE_TYPE_TUNER]
        );
    }

    #[test]
    fn device_id_check_digit() {
        assert!(device_id_is_valid(0x1043_9EFD));
        assert!(device_id_is_valid(0x1059_02DB));
        assert!(!device_id_is_valid(0x1234_5678));
        // libhdhomerun validates a search's id filter too, the wildcard included.
        assert!(device_id_is_valid(DEVICE_ID_WILDCARD));
        assert_eq!(with_check_digit(0x1043_9EF0), 0x1043_9EFD);
        assert_eq!(with_check_digit(0x1059_02D7), 0x1059_02DB);
        let fixed = with_check_digit(0x1234_5678);
        assert_eq!(fixed, 0x1234_5674);
        assert!(device_id_is_valid(fixed));
        // Exactly one of the sixteen low nibbles validates.
        let valid = (0..16u32)
            .filter(|n| device_id_is_valid(0x1234_5670 | n))
            .count();
        assert_eq!(valid, 1);
    }

    #[test]
    fn the_budget_allows_a_burst_then_refills_with_time() {
        let start = Instant::now();
        let mut budget = ReplyBudget::new(50, start);
        let burst = (0..200).filter(|_| budget.try_take(start)).count();
        assert_eq!(burst, 50);
        assert!(!budget.try_take(start + Duration::from_millis(10)));
        // 20 ms more (30 ms since the burst) refill one token and a half.
        assert!(budget.try_take(start + Duration::from_millis(30)));
        assert!(!budget.try_take(start + Duration::from_millis(30)));
        // A long pause refills to the burst size, no more.
        let later = start + Duration::from_secs(60);
        assert_eq!((0..200).filter(|_| budget.try_take(later)).count(), 50);
    }

    proptest! {
        #[test]
        fn parsing_never_panics_on_arbitrary_bytes(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            let _ = parse_packet(&data);
            let _ = parse_request(&data);
        }

        /// Random payloads with a correct CRC reach the TLV parser.
        #[test]
        fn parsing_never_panics_on_framed_payloads(
            packet_type in prop_oneof![Just(TYPE_DISCOVER_REQ), any::<u16>()],
            payload in proptest::collection::vec(any::<u8>(), 0..300),
        ) {
            let packet = frame(packet_type, &payload);
            let _ = parse_request(&packet);
            for cut in 0..packet.len() {
                prop_assert!(parse_packet(&packet[..cut]).is_err());
            }
        }

        #[test]
        fn encoded_packets_decode_to_their_records(
            records in proptest::collection::vec((any::<u8>(), proptest::collection::vec(any::<u8>(), 0..200)), 0..6),
        ) {
            let tlvs: Vec<Tlv> = records.into_iter().map(|(tag, value)| Tlv { tag, value }).collect();
            let packet = parse_packet(&encode_packet(TYPE_DISCOVER_RPY, &tlvs)).unwrap();
            prop_assert_eq!(packet.tlvs, tlvs);
        }

        #[test]
        fn with_check_digit_always_validates(id in any::<u32>()) {
            prop_assert!(device_id_is_valid(with_check_digit(id)));
            prop_assert_eq!(with_check_digit(id) & !0xF, id & !0xF);
        }
    }

    /// A responder on an ephemeral loopback port announcing [`sample_device`]
    /// with the base URL built from the local IP it is handed; counts the calls.
    async fn start_server() -> (
        SocketAddr,
        CancellationToken,
        Arc<AtomicUsize>,
        tokio::task::JoinHandle<()>,
    ) {
        let socket = bind_udp(Ipv4Addr::LOCALHOST.into(), 0).unwrap();
        let addr = socket.local_addr().unwrap();
        let stop = CancellationToken::new();
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let server = tokio::spawn(serve_discovery(
            socket,
            move |_peer, local_ip| {
                counted.fetch_add(1, Ordering::SeqCst);
                Some(DeviceInfo {
                    base_url: format!("http://{local_ip}:8080"),
                    lineup_url: format!("http://{local_ip}:8080/lineup.json"),
                    ..sample_device()
                })
            },
            stop.clone(),
        ));
        (addr, stop, calls, server)
    }

    /// A hang guard, not a measured threshold.
    const PATIENCE: Duration = Duration::from_secs(10);

    async fn receive(client: &UdpSocket) -> (Vec<u8>, SocketAddr) {
        let mut buf = vec![0u8; 2048];
        let (len, from) = tokio::time::timeout(PATIENCE, client.recv_from(&mut buf))
            .await
            .expect("a reply")
            .unwrap();
        buf.truncate(len);
        (buf, from)
    }

    #[tokio::test]
    async fn answers_jellyfins_broadcast_over_a_real_socket() {
        let (addr, stop, _calls, server) = start_server().await;
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        client.send_to(&JELLYFIN_REQUEST, addr).await.unwrap();

        let (reply, from) = receive(&client).await;
        assert_eq!(from, addr);
        assert!(reply.len() > 13 && reply[1] == 3);
        let packet = parse_packet(&reply).unwrap();
        assert_eq!(packet.packet_type, TYPE_DISCOVER_RPY);
        assert_eq!(packet.get_u32(TAG_DEVICE_ID), Some(0x1043_9EFD));
        assert_eq!(packet.get_u32(TAG_DEVICE_TYPE), Some(DEVICE_TYPE_TUNER));
        assert_eq!(packet.get(TAG_TUNER_COUNT), Some(&[2u8][..]));
        assert_eq!(
            packet.get(TAG_BASE_URL),
            Some(&b"http://127.0.0.1:8080"[..])
        );

        stop.cancel();
        tokio::time::timeout(PATIENCE, server)
            .await
            .unwrap()
            .unwrap();
    }

    #[tokio::test]
    async fn garbage_gets_no_reply_and_does_not_stop_the_server() {
        let (addr, stop, calls, server) = start_server().await;
        let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
        let mut bad_crc = JELLYFIN_REQUEST;
        bad_crc[19] ^= 0xFF;
        let reply_as_request = encode_reply(&sample_device());
        let not_for_us = [
            Vec::new(),
            vec![0x00],
            b"M-SEARCH * HTTP/1.1\r\n\r\n".to_vec(),
            JELLYFIN_REQUEST[..10].to_vec(),
            JELLYFIN_REQUEST[..19].to_vec(),
            bad_crc.to_vec(),
            reply_as_request,
            frame(TYPE_DISCOVER_REQ, &[TAG_DEVICE_ID, 0x7F]),
            request(&[5], None),
            request(&[DEVICE_TYPE_TUNER], Some(0x1059_02DB)),
        ];
        for packet in &not_for_us {
            client.send_to(packet, addr).await.unwrap();
        }
        client.send_to(&JELLYFIN_REQUEST, addr).await.unwrap();

        // The server handles datagrams in order, so a reply to any of the
        // packets above would be queued before this one.
        let (reply, _) = receive(&client).await;
        let packet = parse_packet(&reply).unwrap();
        assert_eq!(packet.packet_type, TYPE_DISCOVER_RPY);
        let mut buf = [0u8; 64];
        assert_eq!(
            client.try_recv_from(&mut buf).unwrap_err().kind(),
            io::ErrorKind::WouldBlock,
            "exactly one reply"
        );
        // Asked only for the request that named another device id, and Jellyfin's.
        assert_eq!(calls.load(Ordering::SeqCst), 2);

        stop.cancel();
        tokio::time::timeout(PATIENCE, server)
            .await
            .unwrap()
            .unwrap();
    }

    #[test]
    fn local_ip_is_the_bound_one_or_the_route_to_the_peer() {
        let peer: SocketAddr = (Ipv4Addr::LOCALHOST, 9).into();
        let bound: IpAddr = Ipv4Addr::new(192, 0, 2, 1).into();
        assert_eq!(local_ip_for(bound, peer).unwrap(), bound);
        assert_eq!(
            local_ip_for(Ipv4Addr::UNSPECIFIED.into(), peer).unwrap(),
            IpAddr::from(Ipv4Addr::LOCALHOST)
        );
    }
}
