//! acestream-sim: a faithful AceStream engine simulator for tests and demos. It
//! serves the engine's HTTP API on raw hyper 1.x, streams real MPEG-TS carrying
//! sequence numbers (or, per content, a looped decodable H.264 or MPEG-2 test
//! card), plays configurable faults and policies, and reports what was done to it. See shared docs ACESTREAM_ENGINE.md, section "The simulator crate".
#![forbid(unsafe_code)]

mod body;
mod catalogue;
mod config;
mod content;
mod introspect;
mod live;
mod reader;
mod routes;
mod server;
mod session;
mod state;
pub mod ts;

pub use catalogue::{demo_catalogue, load_catalogue, parse_catalogue};
pub use config::{Policies, SamePid, SecondPid, SecondReader, SimConfig};
pub use content::{Content, ContentSpec, Fault, Video};
pub use introspect::{GetstreamCall, Introspection, SessionInfo};
pub use server::Simulator;
