//! Format v3 in the CLI (docs/protocol.md, "Format v3"): the primitives on audited crates,
//! CPace admission, the roster, replay windows, signed and padded envelopes, and the key
//! store that keeps a member's room secret between runs.

pub mod admit;
pub mod apply;
pub mod cpace;
pub mod envelope;
pub mod keys;
pub mod member;
pub mod replay;
pub mod roster;
pub mod store;

#[cfg(test)]
pub(crate) mod test_vectors;
