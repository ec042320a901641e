//! Spawning child processes that die with peglab, even when peglab is killed with SIGKILL.
//!
//! On Linux a child asks the kernel for SIGKILL when its parent dies (`PR_SET_PDEATHSIG`).
//! The kernel ties that to the *thread* that forked the child, so every child is forked by one
//! long-lived spawner thread: a node started from a short-lived worker thread must not die when
//! that worker ends. Each child also leads a process group of its own, so that killing the
//! group takes what it spawned along (a wrapper script that runs bitcoind without `exec`).
//! Live groups are registered, so that a signal handler can stop them all at once.

use std::{
    collections::BTreeSet,
    io,
    process::{Child, Command},
    sync::{Mutex, OnceLock, mpsc},
    thread,
};

struct Request {
    cmd: Command,
    reply: mpsc::Sender<io::Result<Child>>,
}

static SPAWNER: OnceLock<Result<mpsc::Sender<Request>, io::ErrorKind>> = OnceLock::new();

/// Process groups of live children.
static GROUPS: Mutex<BTreeSet<u32>> = Mutex::new(BTreeSet::new());

/// Spawns `cmd` so that it dies when this process dies, leading a process group of its own.
pub(crate) fn spawn_tied(mut cmd: Command) -> io::Result<Child> {
    tie_to_parent(&mut cmd);
    let spawner = SPAWNER.get_or_init(|| {
        let (tx, rx) = mpsc::channel::<Request>();
        thread::Builder::new()
            .name("peglab-spawner".into())
            .spawn(move || {
                for Request { mut cmd, reply } in rx {
                    let _ = reply.send(cmd.spawn());
                }
            })
            .map(|_| tx)
            .map_err(|e| e.kind())
    });
    let spawner = spawner.as_ref().map_err(|kind| io::Error::from(*kind))?;
    let (reply, answer) = mpsc::channel();
    spawner
        .send(Request { cmd, reply })
        .map_err(|_| io::Error::other("the spawner thread has stopped"))?;
    let child = answer.recv().map_err(|_| io::Error::other("the spawner thread has stopped"))??;
    GROUPS.lock().unwrap_or_else(|p| p.into_inner()).insert(child.id());
    Ok(child)
}

/// Kills the process group led by `child` (the child and whatever it spawned) and reaps the
/// child.
pub(crate) fn kill_group(child: &mut Child) {
    let pgid = child.id();
    kill(pgid);
    let _ = child.kill();
    let _ = child.wait();
    GROUPS.lock().unwrap_or_else(|p| p.into_inner()).remove(&pgid);
}

/// Kills the process group `pgid` and forgets it (a child reaped elsewhere).
pub(crate) fn kill_and_forget(pgid: u32) {
    kill(pgid);
    GROUPS.lock().unwrap_or_else(|p| p.into_inner()).remove(&pgid);
}

/// Kills every live child's process group (a signal handler stopping the run).
pub fn kill_all() {
    let groups: Vec<u32> =
        GROUPS.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
    groups.into_iter().for_each(kill);
}

fn kill(pgid: u32) {
    let Ok(pgid) = libc::pid_t::try_from(pgid) else { return };
    #[expect(unsafe_code, reason = "killpg is the way to signal a process group")]
    // SAFETY: a plain syscall; a group that is gone only returns an error.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
}

#[cfg(target_os = "linux")]
fn tie_to_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    let parent = libc::pid_t::try_from(std::process::id()).unwrap_or(0);
    cmd.process_group(0);
    #[expect(unsafe_code, reason = "pre_exec and prctl are the only way to set PR_SET_PDEATHSIG")]
    // SAFETY: the closure only calls async-signal-safe functions (prctl, getppid, _exit).
    unsafe {
        cmd.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died between fork and prctl: then nobody would kill us.
            if libc::getppid() != parent {
                libc::_exit(1);
            }
            Ok(())
        });
    }
}

#[cfg(not(target_os = "linux"))]
fn tie_to_parent(cmd: &mut Command) {
    use std::os::unix::process::CommandExt;
    cmd.process_group(0);
}
