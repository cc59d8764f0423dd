//! SSDP responder (UDP 1900) for the HDHomeRun emulation.
