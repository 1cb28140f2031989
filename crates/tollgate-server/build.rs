//! Build facts the binary reports, and when to rebuild it:
//! - `TOLLGATE_GIT_REV`: the commit it was built from (`tollgate --version`): the variable of that
//!   name when the build is given one (a container build has no `.git`), else asked of git,
//!   `unknown` outside a git checkout;
//! - the web console is embedded from `web/dist` by a macro, which cargo does not know reads files:
//!   a new `web/dist` must rebuild the crate, or a binary built before the web build keeps serving
//!   the "UI not built" page.

use std::path::Path;
use std::process::Command;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let dist = root.join("web/dist");
    // Watching a missing folder would rebuild every time; watch `web/` until `dist` exists.
    if dist.exists() {
        println!("cargo:rerun-if-changed={}", dist.display());
    } else {
        println!("cargo:rerun-if-changed={}", root.join("web").display());
    }
    println!("cargo:rerun-if-env-changed=TOLLGATE_GIT_REV");
    let given = std::env::var("TOLLGATE_GIT_REV").ok().filter(|s| !s.is_empty() && s != "unknown");
    let rev = given
        .or_else(|| {
            Command::new("git")
                .args(["rev-parse", "--short=12", "HEAD"])
                .current_dir(&root)
                .output()
                .ok()
                .filter(|o| o.status.success())
                .and_then(|o| String::from_utf8(o.stdout).ok())
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty())
        })
        .unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=TOLLGATE_GIT_REV={rev}");
    // A commit moves the branch HEAD points to; a checkout changes HEAD itself.
    let git = root.join(".git");
    let mut watch = vec![git.join("HEAD"), git.join("packed-refs")];
    if let Ok(head) = std::fs::read_to_string(git.join("HEAD"))
        && let Some(reference) = head.trim().strip_prefix("ref: ")
    {
        watch.push(git.join(reference));
    }
    for f in watch.iter().filter(|f| f.exists()) {
        println!("cargo:rerun-if-changed={}", f.display());
    }
    println!("cargo:rerun-if-changed=build.rs");
}
