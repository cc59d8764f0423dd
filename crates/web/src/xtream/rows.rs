//! The JSON rows players parse: exact field names and JSON types. (Being written.)
