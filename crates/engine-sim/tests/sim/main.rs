//! Black-box tests of the simulator over real sockets: one binary, one module per
//! endpoint family, a shared `spawn_sim` helper.

// clippy.toml lets #[test] functions unwrap, but not the shared helpers they call;
// here too a panic is a failed assertion with a line number.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod control;
mod faults;
mod getstream;
mod helpers;
mod playback;
mod policies;
mod restart;
mod server_api;
mod video;
