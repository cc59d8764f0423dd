//! The programme guide: reading XMLTV feeds (gzip / xz / plain, streamed) and
//! storing their programmes. (To be written.)
