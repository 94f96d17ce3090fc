//! Regenerates `include/baton.h` from the C ABI in `src/ffi/c` with cbindgen (settings in
//! `cbindgen.toml`). The header is checked in; it is rewritten only when its content changed,
//! and `make test-c` fails when the regenerated header differs from the committed one.

use std::path::Path;

/// The C ABI's major version: bumped when a released function or struct changes
/// incompatibly (appending struct fields does not; see docs/c-abi.md).
const SOVERSION: u32 = 0;

fn main() {
    // Only these inputs matter; without this list cargo would rerun on every file change.
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=cbindgen.toml");
    println!("cargo:rerun-if-changed=src/ffi/c");

    // ELF shared objects carry their ABI version (docs/c-abi.md): C programs link against
    // libbaton.so.0, which `make install` points at the real file.
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-cdylib-link-arg=-Wl,-soname,libbaton.so.{SOVERSION}");
    }

    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = cbindgen::Config::from_file(root.join("cbindgen.toml"))
        .unwrap_or_else(|e| panic!("cbindgen.toml: {e}"));
    // Parse only the C ABI's own modules: fast, and no `cargo metadata` run.
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(root.join("src/ffi/c/mod.rs"))
        .generate()
        .unwrap_or_else(|e| panic!("generating include/baton.h: {e}"));
    let mut header = Vec::new();
    bindings.write(&mut header);

    let path = root.join("include/baton.h");
    if std::fs::read(&path).ok().as_deref() == Some(header.as_slice()) {
        return;
    }
    // Write then rename: concurrent builds (debug, release, clippy) never see half a file.
    let tmp = root.join(format!("include/.baton.h.{}", std::process::id()));
    std::fs::create_dir_all(root.join("include")).expect("creating include/");
    std::fs::write(&tmp, &header).unwrap_or_else(|e| panic!("writing {}: {e}", tmp.display()));
    std::fs::rename(&tmp, &path).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}
