//! HDHomeRun tuner emulation for Plex, Jellyfin and Emby.

pub mod discovery;
pub mod ssdp;
