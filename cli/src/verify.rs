//! `verify`: placeholder replaced below.
use std::path::Path;

use crate::exit::Failure;

pub fn run(_url: &str, _ca: Option<&Path>, _allow_http: bool) -> Result<(), Failure> {
    Err(Failure::Usage("verify is not built yet".into()))
}
