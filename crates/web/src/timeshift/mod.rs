//! Catch-up requests as players send them: the Xtream timeshift URL forms and
//! their START times ([`request`]), the HLS playlists of a recorded span
//! ([`vod`]), and the M3U catch-up attributes ([`catchup`]). Pure functions; the
//! handlers are in `crate::archive::serve`.

pub mod catchup;
pub mod request;
pub mod vod;
