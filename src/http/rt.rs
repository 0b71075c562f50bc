//! Task helpers over smol for the daemon and the image store. smol builds its task machinery
//! (schedule, wake, run, drop) once per distinct future or closure type, so every `smol::spawn`
//! or `smol::unblock` call site with its own closure adds a few KB of it to the binary. These
//! helpers box the work and erase its result type first, so all call sites share one
//! instantiation; the cost is one allocation per task.

use std::any::Any;
use std::future::Future;
use std::pin::Pin;

type AnyBox = Box<dyn Any + Send>;

/// `smol::unblock`: run `f` on the blocking thread pool. The work starts at once (as with
/// smol's), the returned future yields its result.
pub fn unblock<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> impl Future<Output = T> + Send {
    let job: Box<dyn FnOnce() -> AnyBox + Send> = Box::new(move || Box::new(f()) as AnyBox);
    let task = smol::unblock(job);
    async move {
        match task.await.downcast::<T>() {
            Ok(v) => *v,
            Err(_) => unreachable!("a blocking job returns what its closure returned"),
        }
    }
}

/// `smol::unblock(f).detach()`: run `f` on the blocking thread pool, nobody waiting for it.
pub fn unblock_detached(f: impl FnOnce() + Send + 'static) {
    let job: Box<dyn FnOnce() -> AnyBox + Send> = Box::new(move || {
        f();
        Box::new(()) as AnyBox
    });
    smol::unblock(job).detach();
}

/// `smol::spawn(fut).detach()`: run `fut` on the executor to its end, its result dropped.
pub fn spawn_detached<F>(fut: F)
where
    F: Future + Send + 'static,
{
    let boxed: Pin<Box<dyn Future<Output = ()> + Send>> = Box::pin(async move {
        let _ = fut.await;
    });
    smol::spawn(boxed).detach();
}

#[cfg(test)]
mod tests {
    #[test]
    fn unblock_returns_the_closure_result_and_spawned_work_runs() {
        let v = smol::block_on(super::unblock(|| vec![1u8, 2, 3]));
        assert_eq!(v, [1, 2, 3]);
        let (tx, rx) = std::sync::mpsc::channel();
        super::spawn_detached(async move {
            tx.send(super::unblock(|| 7).await).unwrap();
        });
        assert_eq!(
            rx.recv_timeout(std::time::Duration::from_secs(5)).unwrap(),
            7
        );
    }
}
