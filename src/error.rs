//! The errors of the Rust API. Every message names what went wrong and what to do.

use std::fmt;

/// Everything that can go wrong in baton's API.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The configuration broke one or more rules; nothing was started.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The store could not be reached (connect, timeout, I/O).
    #[error("store unreachable at {url}: {detail}; check that the server is up and that `store` points at it")]
    StoreUnreachable {
        /// The store URL, without its password.
        url: String,
        /// What the client library reported.
        detail: String,
    },
    /// The store answered with an error (permissions, protocol, version).
    #[error("store refused the request: {0}")]
    Store(String),
    /// The election was closed; create a new one.
    #[error("this election was closed; build a new one to campaign again")]
    Closed,
    /// baton's runtime thread could not be started.
    #[error("{0}")]
    Runtime(String),
    /// A blocking call got no answer from baton's runtime thread in time (the store did not
    /// confirm); leadership had already ended, and an unconfirmed lease expires by itself.
    #[error("{what} was not confirmed within {}; leadership already ended here, and the lease expires by itself if the store did not get the release", crate::config::fmt(*waited))]
    Timeout {
        /// The operation (`resign`, ...).
        what: &'static str,
        /// How long the call waited.
        waited: std::time::Duration,
    },
    /// The election was built before this process was forked: it belongs to the parent, and
    /// the child has no runtime thread for it.
    #[error("this election was built before fork() and belongs to the parent process; in the child, build a new election (or build elections only after forking)")]
    Forked,
    /// A blocking call was made on baton's own runtime thread, where it would deadlock.
    #[error("blocking baton call made on baton's runtime thread; call it from your own thread")]
    OnRuntimeThread,
}

/// One broken configuration rule: the setting, its bad value and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// The setting's name, as in the builder (`ttl`, `election`, `store`, ...).
    pub setting: &'static str,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.setting, self.message)
    }
}

/// Every rule the configuration broke, all reported at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigError {
    /// The broken rules, cross-field rules first.
    pub problems: Vec<ConfigProblem>,
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid baton configuration: ")?;
        for (i, p) in self.problems.iter().enumerate() {
            if i > 0 {
                write!(f, "; ")?;
            }
            write!(f, "{p}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigError {}
