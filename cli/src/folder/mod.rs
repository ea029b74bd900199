//! Whole folders (docs/protocol.md, "Folders"): one item of kind `folder` whose body is a
//! manifest followed by the files' bytes. `pack` reads a tree for `send`, `unpack` recreates
//! one for `receive`, and `manifest` holds the rules both sides agree on.

pub mod manifest;
pub mod pack;
pub mod unpack;
