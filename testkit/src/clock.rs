//! A store whose wall clock the test controls: rate changes (a slewing or drifting host) and
//! steps, applied to a running `redis-server` through a small LD_PRELOAD library
//! (`storeclock.c`, built with the system C compiler the Rust toolchain links with).

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, OnceLock};

const SOURCE: &str = include_str!("storeclock.c");

/// The control file of one server's wall clock.
pub struct StoreClock {
    file: File,
    path: PathBuf,
    state: Mutex<(i64, i64, f64)>,
}

fn real_ns() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec we own.
    unsafe { libc::clock_gettime(libc::CLOCK_REALTIME, &mut ts) };
    ts.tv_sec * 1_000_000_000 + ts.tv_nsec
}

impl StoreClock {
    /// Creates the control file (the real clock, rate 1) in `dir`.
    pub fn create(dir: &Path) -> StoreClock {
        let path = dir.join("storeclock.ctl");
        let file = File::options()
            .create(true)
            .truncate(true)
            .read(true)
            .write(true)
            .open(&path)
            .expect("create the store clock's control file");
        file.set_len(4096).expect("size the control file");
        let now = real_ns();
        let clock = StoreClock {
            file,
            path,
            state: Mutex::new((now, now, 1.0)),
        };
        clock.publish(now, now, 1.0);
        clock
    }

    fn publish(&self, anchor_real: i64, anchor_fake: i64, rate: f64) {
        let mut seq = [0u8; 8];
        self.file.read_exact_at(&mut seq, 0).expect("read seq");
        let s = u64::from_ne_bytes(seq);
        let mut body = Vec::with_capacity(24);
        body.extend_from_slice(&anchor_real.to_ne_bytes());
        body.extend_from_slice(&anchor_fake.to_ne_bytes());
        body.extend_from_slice(&rate.to_ne_bytes());
        self.file
            .write_all_at(&(s | 1).to_ne_bytes(), 0)
            .expect("seq");
        self.file.write_all_at(&body, 8).expect("clock");
        self.file
            .write_all_at(&((s | 1) + 1).to_ne_bytes(), 0)
            .expect("seq");
    }

    /// The store's wall clock now, in nanoseconds since the Unix epoch.
    pub fn now_ns(&self) -> i64 {
        let (ar, af, rate) = *self.state.lock().unwrap();
        af + ((real_ns() - ar) as f64 * rate) as i64
    }

    /// Steps the store's wall clock by `delta_ns` (negative: back), keeping its rate.
    pub fn step(&self, delta_ns: i64) {
        let mut st = self.state.lock().unwrap();
        let now = real_ns();
        let fake = st.1 + ((now - st.0) as f64 * st.2) as i64 + delta_ns;
        *st = (now, fake, st.2);
        self.publish(st.0, st.1, st.2);
    }

    /// From now on the store's wall clock runs at `rate` (1.0: real speed), without a jump.
    pub fn set_rate(&self, rate: f64) {
        let mut st = self.state.lock().unwrap();
        let now = real_ns();
        let fake = st.1 + ((now - st.0) as f64 * st.2) as i64;
        *st = (now, fake, rate);
        self.publish(st.0, st.1, st.2);
    }

    /// Store time minus real time, in nanoseconds.
    pub fn offset_ns(&self) -> i64 {
        self.now_ns() - real_ns()
    }

    /// The environment a server needs to run on this clock.
    pub fn env(&self) -> Vec<(String, String)> {
        vec![
            ("LD_PRELOAD".into(), library().display().to_string()),
            ("BATON_STORE_CLOCK".into(), self.path.display().to_string()),
        ]
    }
}

/// Builds the preload library once per process (in the system temporary directory).
fn library() -> &'static Path {
    static LIB: OnceLock<PathBuf> = OnceLock::new();
    LIB.get_or_init(|| {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        SOURCE.hash(&mut h);
        let lib = std::env::temp_dir().join(format!("baton-storeclock-{:016x}.so", h.finish()));
        if lib.exists() {
            return lib;
        }
        let dir = tempfile::tempdir().expect("a directory to build the store clock library");
        let src = dir.path().join("storeclock.c");
        let built = dir.path().join("libstoreclock.so");
        File::create(&src)
            .and_then(|mut f| f.write_all(SOURCE.as_bytes()))
            .expect("write storeclock.c");
        let cc = std::env::var("CC").unwrap_or_else(|_| "cc".into());
        let out = Command::new(&cc)
            .args(["-shared", "-fPIC", "-O2", "-o"])
            .arg(&built)
            .arg(&src)
            .output()
            .unwrap_or_else(|e| {
                panic!("could not run the C compiler {cc} ({e}); install gcc or set CC")
            });
        assert!(
            out.status.success(),
            "building the store clock library failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        // A rename is atomic: a concurrent test sees no library or a whole one.
        std::fs::copy(&built, dir.path().join("lib.so")).expect("copy the library");
        std::fs::rename(dir.path().join("lib.so"), &lib).expect("install the library");
        lib
    })
}
