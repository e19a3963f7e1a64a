//! `easel serve`'s start: the runtime and device checked, every package
//! under the models folder loaded and warmed up, then the router served
//! until Ctrl-C or SIGTERM, finishing the requests in flight.

use crate::inference::queue::Generator;
use crate::inference::runtime::{self, ModelSession};

use super::{app, state_with, ServeConfig};

/// `easel serve`: load, warm up, listen, and on Ctrl-C or SIGTERM stop
/// taking requests and finish those in flight.
pub async fn run(config: ServeConfig) -> anyhow::Result<()> {
    runtime::init(config.ort_lib.as_deref())?;
    runtime::check_device(&config.session)?;
    let execution = &config.session.execution;
    tracing::info!(
        "models run in {} on {} through {}: {}",
        execution.compute,
        execution.device,
        execution.provider,
        execution.reason
    );
    eprintln!(
        "compute: {} on {} ({}; {})",
        execution.compute, execution.device, execution.provider, execution.reason
    );
    let dir = config.models_dir.clone();
    let session_options = config.session.clone();
    let (sessions, problems) = tokio::task::spawn_blocking(move || {
        crate::inference::loading::load_sessions(&dir, session_options)
    })
    .await?;
    for p in &problems {
        tracing::warn!("skipped a model: {p}");
        eprintln!("warning: skipped a model: {p}");
    }
    if sessions.is_empty() {
        anyhow::bail!(
            "no model could be loaded from {}{}",
            config.models_dir.display(),
            if problems.is_empty() {
                " (it holds no folder with a model.json; pass --models DIR)".to_string()
            } else {
                format!(": {}", problems.join("; "))
            }
        );
    }
    let generators = warm_up(sessions, &config)?;
    let bind = config.bind;
    let state = state_with(generators, config)?;
    let names: Vec<String> = state.models.keys().cloned().collect();
    let listener = tokio::net::TcpListener::bind(bind).await.map_err(|e| {
        anyhow::anyhow!("cannot listen on {bind}: {e}; pick another address with --bind")
    })?;
    let local = listener.local_addr()?;
    println!(
        "easel serving {} (default {}) at http://{local}",
        names.join(", "),
        state.default_model
    );
    axum::serve(listener, app(state))
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    Ok(())
}

/// Runs every session once at the sizes it will be asked for (each batch
/// size the queue pads to, the page's canvas sizes), so that the first
/// painter waits for no graph compile.
fn warm_up(
    sessions: Vec<ModelSession>,
    config: &ServeConfig,
) -> anyhow::Result<Vec<Box<dyn Generator>>> {
    let warm_sizes = if config.worker.pad_batches {
        crate::inference::device::padded_sizes(config.worker.max_batch)
    } else {
        vec![1]
    };
    let mut warmed: Vec<Box<dyn Generator>> = Vec::new();
    for mut s in sessions {
        crate::inference::loading::warm_up(&mut s, &warm_sizes, config.max_pixels)
            .map_err(|e| anyhow::anyhow!("warming up {}: {e}", s.package.card.name))?;
        warmed.push(Box::new(s));
    }
    Ok(warmed)
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = terminate => {},
    }
    tracing::info!("shutting down: finishing requests in flight");
}
