//! The recorded history: every candidate process of a phase, built from its record stream,
//! one `Proc` per (process, election) pair.

use super::record::Rec;

/// One grant as one process saw it.
#[derive(Debug, Clone)]
pub struct Grant {
    pub proc: usize,
    pub tok: u64,
    /// Clock before and after the first true sample: the grant began before `t1`.
    pub t0: u64,
    pub t1: u64,
    /// Clock before the last true sample recorded (a tick or the end).
    pub last: u64,
    /// The lease deadline the process last reported trusting (0: none reported).
    pub deadline: u64,
    pub ended: bool,
}

impl Grant {
    /// The part of the grant during which the process surely believed it led
    /// (`None` when the grant was seen by a single sample).
    pub fn sure(&self) -> Option<(u64, u64)> {
        (self.t1 < self.last).then_some((self.t1, self.last))
    }

    /// Every instant the process may have believed it led, as far as the samples tell.
    pub fn span(&self) -> (u64, u64) {
        (self.t0, self.last.max(self.t1))
    }
}

#[derive(Debug, Clone)]
pub struct Stall {
    pub from: u64,
    pub to: u64,
    pub lead: bool,
    pub after: bool,
}

#[derive(Debug, Clone)]
pub struct Write {
    pub tok: u64,
    pub t: u64,
    pub ok: bool,
}

/// One election of one candidate process (a replacement after a kill is a new process).
#[derive(Debug, Clone)]
pub struct Proc {
    pub pid: u32,
    pub id: String,
    /// The process's number in its phase (the n-th process started).
    pub spawn: usize,
    /// The election's index in the process.
    pub el: usize,
    pub killed: Option<u64>,
    /// A graceful redeploy: when the process had closed every election and exited.
    pub exited: Option<u64>,
    pub grants: Vec<Grant>,
    pub stalls: Vec<Stall>,
    pub writes: Vec<Write>,
    pub errors: Vec<String>,
    /// The token it leads under right now, as far as its records tell.
    pub leading: Option<u64>,
}

impl Proc {
    pub fn new(pid: u32, spawn: usize, el: usize) -> Proc {
        Proc {
            pid,
            id: String::new(),
            spawn,
            el,
            killed: None,
            exited: None,
            grants: Vec::new(),
            stalls: Vec::new(),
            writes: Vec::new(),
            errors: Vec::new(),
            leading: None,
        }
    }

    pub fn ingest(&mut self, me: usize, rec: Rec) {
        match rec {
            Rec::Start { id, .. } => self.id = id,
            Rec::Grant {
                tok, t0, t1, dl, ..
            } => {
                self.grants.push(Grant {
                    proc: me,
                    tok,
                    t0,
                    t1,
                    last: t0,
                    deadline: dl,
                    ended: false,
                });
                self.leading = Some(tok);
            }
            Rec::Tick { tok, t, dl, .. } => {
                if let Some(g) = self.grants.last_mut().filter(|g| g.tok == tok) {
                    g.last = g.last.max(t);
                    g.deadline = g.deadline.max(dl);
                }
            }
            Rec::End { tok, t, .. } => {
                if let Some(g) = self.grants.last_mut().filter(|g| g.tok == tok) {
                    g.last = g.last.max(t);
                    g.ended = true;
                }
                self.leading = None;
            }
            Rec::Stall {
                from,
                to,
                lead,
                after,
                ..
            } => self.stalls.push(Stall {
                from,
                to,
                lead,
                after,
            }),
            Rec::Write { tok, t, ok, .. } => self.writes.push(Write { tok, t, ok }),
            Rec::Error { msg } => self.errors.push(msg),
            Rec::Exit { t } => self.exited = Some(t),
        }
    }
}
