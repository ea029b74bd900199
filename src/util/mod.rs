//! Bounded building blocks the event loop owns: the fixed-capacity [`arena::Arena`] that holds
//! connections, sessions and members, and the [`timer::TimerWheel`] that holds every deadline.
//!
//! [`address::limit_key`] says which client addresses count as one for limits.
//!
//! The arena and the wheel reserve all their memory at construction and never grow, take time only as arguments
//! (they never read the clock), do no I/O and contain no `unsafe`.

pub mod address;
pub mod arena;
pub mod timer;

pub use arena::{Arena, Full, Handle};
pub use timer::{TimerId, TimerWheel};
