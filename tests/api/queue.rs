//! The model queue as clients meet it: waiting requests of one size share a
//! batch, a full queue answers 503 at once, a request that waits too long
//! 504, and a failing model 500 without its internals.

use std::time::Duration;

use axum::http::{header, StatusCode};

use easel::http::{app, state_with};
use easel::inference::pipeline::{SynthesisError, Work};
use easel::inference::queue::Generator;
use easel::inference::runtime::Output;
use easel::package::ModelCard;

use crate::support::app::{
    card, config, error_of, fresh, gated_server, get, post, send, server_with, SYNTH,
};
use crate::support::png::png_gray;

/// How many requests wait in the fake model's queue, from /metrics.
async fn queued(app: &axum::Router) -> usize {
    let (_, _, body) = get(app, "/metrics").await;
    let text = String::from_utf8(body).unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(r#"easel_queue_size{model="fake"} "#))
        .map_or(0, |n| n.parse().unwrap())
}

#[tokio::test]
async fn waiting_requests_of_one_size_are_batched() {
    let (s, mut gate) = gated_server(config(8, 32));
    let png = png_gray(64, 64, |_, _| 0);
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let app = s.app.clone();
            let png = png.clone();
            // Afresh: identical requests would share one answer.
            tokio::spawn(async move { send(&app, fresh(post(SYNTH, "image/png", png))).await.0 })
        })
        .collect();
    // The first batch is held until the others have all come: they wait together.
    let first = gate.running().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while queued(&s.app).await < 6 - first {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the requests did not queue"
        );
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    gate.open();
    for t in tasks {
        assert_eq!(t.await.unwrap(), StatusCode::OK);
    }
    let batches = s.batches.lock().unwrap().clone();
    assert_eq!(batches.iter().sum::<usize>(), 6);
    assert!(
        batches.iter().any(|&b| b > 1),
        "some requests shared a batch: {batches:?}"
    );
}

#[tokio::test]
async fn a_full_queue_answers_503_with_retry_after_at_once() {
    let (s, mut gate) = gated_server(config(1, 1));
    let png = png_gray(64, 64, |_, _| 0);
    let (answered, mut answers) = tokio::sync::mpsc::unbounded_channel();
    for _ in 0..4 {
        let (app, png, answered) = (s.app.clone(), png.clone(), answered.clone());
        tokio::spawn(async move {
            let answer = send(&app, fresh(post(SYNTH, "image/png", png))).await;
            answered.send(answer).unwrap();
        });
    }
    // One request runs (held) and one waits in the queue's one slot; while
    // the model is held only the other two can be answered, and at once.
    let mut all = vec![answers.recv().await.unwrap(), answers.recv().await.unwrap()];
    gate.open();
    all.extend([answers.recv().await.unwrap(), answers.recv().await.unwrap()]);
    let mut overloaded = 0;
    for (status, headers, body) in all {
        if status == StatusCode::SERVICE_UNAVAILABLE {
            overloaded += 1;
            assert_eq!(headers[header::RETRY_AFTER], "1");
            assert_eq!(error_of(&body).1, "overloaded");
        } else {
            assert_eq!(status, StatusCode::OK);
        }
    }
    assert!(
        overloaded >= 1,
        "with one slot and a slow model some requests are turned away"
    );
}

#[tokio::test]
async fn a_request_that_waits_too_long_is_504_with_the_flag_to_change() {
    let mut c = config(1, 8);
    c.request_timeout = Duration::from_millis(50);
    let s = server_with(Duration::from_millis(400), c);
    let (status, _, body) =
        send(&s.app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::GATEWAY_TIMEOUT);
    assert!(error_of(&body).0.contains("--request-timeout"));
}

struct Broken(ModelCard);

impl Generator for Broken {
    fn card(&self) -> &ModelCard {
        &self.0
    }
    fn generate(&mut self, _: &[Work]) -> Result<Vec<Output>, SynthesisError> {
        Err(SynthesisError::BadOutput(
            "onnxruntime: secret internal detail".into(),
        ))
    }
}

#[tokio::test]
async fn inference_failures_are_500_without_internal_details() {
    let state = state_with(vec![Box::new(Broken(card("fake")))], config(8, 8)).unwrap();
    let app = app(state);
    let (status, _, body) = send(&app, post(SYNTH, "image/png", png_gray(64, 64, |_, _| 0))).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    let (msg, kind) = error_of(&body);
    assert_eq!(kind, "internal");
    assert!(!msg.contains("secret"), "{msg}");
    let (status, _, _) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK, "the server stays up");
}
