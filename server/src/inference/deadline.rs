//! Waiting for a model thread's answer within the caller's time limit: the
//! one rule the image path (`synthesizer`) and the photo path (`segment`)
//! share, with one message.

use std::time::Duration;

use tokio::sync::oneshot;

/// Why an answer did not come.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Late {
    #[error("no {what} within {limit:?}; the server is busy, retry or raise --request-timeout-ms")]
    TimedOut {
        /// What was awaited: "image", "map".
        what: &'static str,
        limit: Duration,
    },
    /// The thread dropped the request without answering (it stopped or
    /// panicked).
    #[error("the thread of model {0} stopped before answering")]
    Stopped(String),
}

/// The answer on `reply`, waiting at most `limit` (forever without one).
pub async fn answer_within<T>(
    reply: oneshot::Receiver<T>,
    limit: Option<Duration>,
    what: &'static str,
    model: &str,
) -> Result<T, Late> {
    let answer = match limit {
        Some(limit) => tokio::time::timeout(limit, reply)
            .await
            .map_err(|_| Late::TimedOut { what, limit })?,
        None => reply.await,
    };
    answer.map_err(|_| Late::Stopped(model.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn an_answer_past_the_limit_is_late_and_says_which_flag_raises_it() {
        let (_keep, reply) = oneshot::channel::<u8>();
        let e = answer_within(reply, Some(Duration::from_secs(2)), "image", "m")
            .await
            .unwrap_err();
        assert_eq!(
            e,
            Late::TimedOut {
                what: "image",
                limit: Duration::from_secs(2)
            }
        );
        assert!(e.to_string().contains("--request-timeout-ms"), "{e}");
    }

    #[tokio::test(start_paused = true)]
    async fn an_answer_in_time_arrives_and_a_dropped_sender_is_a_stopped_thread() {
        let (send, reply) = oneshot::channel::<u8>();
        send.send(7).unwrap();
        assert_eq!(answer_within(reply, None, "map", "m").await, Ok(7));
        let (send, reply) = oneshot::channel::<u8>();
        drop(send);
        let e = answer_within(reply, Some(Duration::from_secs(1)), "map", "m").await;
        assert_eq!(e, Err(Late::Stopped("m".into())));
    }
}
