//! Rebuild when the web bundle changes: `include_dir!` embeds `assets/`, but cargo on stable
//! Rust does not know to watch it, so a fresh `npm run build` would otherwise be ignored.
fn main() {
    println!("cargo:rerun-if-changed=assets");
}
