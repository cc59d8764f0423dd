//! Black-box tests of the simulator over real sockets: one binary, one module per
//! endpoint family, a shared `spawn_sim` helper.

mod control;
mod faults;
mod getstream;
mod helpers;
mod playback;
mod policies;
mod restart;
mod server_api;
