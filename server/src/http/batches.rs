//! Batch runs through the API and the result pages. An upload is saved
//! under the run's folder first (`inputs/`), then made by the same code as
//! `easel test`, feeding the model's queue like any other request; so runs
//! from the CLI and the API look alike, and either resumes the other.

use std::collections::HashMap;
use std::path::{Path as FsPath, PathBuf};
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;

use super::api::ErrorBody;
use super::error::ApiError;
use super::form::{flag, Form, FormSpec};
use super::AppState;
use crate::runs::{check_name, Progress, Run, RunDir, RunSpec, RunState};

/// Runs going on in this process, by id.
#[derive(Default)]
pub struct Batches {
    running: Mutex<HashMap<String, watch::Receiver<Progress>>>,
}

/// `<name>@<epoch>`: `@` is not allowed in either, so the id splits back.
fn batch_id(name: &str, epoch: &str) -> String {
    format!("{name}@{epoch}")
}

fn parse_id(results: &FsPath, id: &str) -> Result<RunDir, ApiError> {
    let (name, epoch) = id.split_once('@').ok_or_else(|| {
        ApiError::NotFound(format!(
            "`{id}` is not a batch id (they look like `<name>@<epoch>`)"
        ))
    })?;
    Ok(RunDir::new(results, name, epoch)?)
}

/// A batch run's state.
#[derive(Serialize, utoipa::ToSchema)]
pub struct BatchStatus {
    pub id: String,
    pub name: String,
    pub epoch: String,
    pub model: String,
    pub progress: Progress,
    pub error: Option<String>,
    /// The gallery's first page.
    pub gallery: String,
    /// Server-sent progress events.
    pub events: String,
}

fn status_of(dir: &RunDir, model: &str, progress: Progress, error: Option<String>) -> BatchStatus {
    let id = batch_id(&dir.name, &dir.epoch);
    BatchStatus {
        gallery: format!("/results/{}/test_{}/index.html", dir.name, dir.epoch),
        events: format!("/api/v1/batches/{id}/events"),
        id,
        name: dir.name.clone(),
        epoch: dir.epoch.clone(),
        model: model.to_string(),
        progress,
        error,
    }
}

/// The folders an upload is saved into, under the run.
const KINDS: [(&str, &str); 3] = [
    ("label", "label"),
    ("image", "image"),
    ("instance", "instance"),
];

/// Which input folder a file belongs to: a multipart field name, or a zip
/// entry's folder (`label/`, `image/`, `instance/`, or the reference's
/// `*_label/`, `*_img/`, `*_inst/`).
fn kind_of(folder: &str) -> Option<&'static str> {
    let f = folder.to_ascii_lowercase();
    if f == "label" || f == "labels" || f.ends_with("_label") {
        Some("label")
    } else if f == "image" || f == "images" || f == "img" || f.ends_with("_img") {
        Some("image")
    } else if f == "instance" || f == "instances" || f == "inst" || f.ends_with("_inst") {
        Some("instance")
    } else {
        None
    }
}

/// A file name from a client: its last component, in a safe alphabet.
fn safe_file_name(name: &str) -> Result<String, ApiError> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    check_name("file name", base).map_err(|_| {
        ApiError::Malformed(format!(
            "file name `{name}` is not allowed: use letters, digits, `.`, `-` and `_` (no folders)"
        ))
    })?;
    Ok(base.to_string())
}

/// A file of an upload, for one of the run's input folders.
struct UploadedFile {
    kind: &'static str,
    name: String,
    data: Vec<u8>,
}

/// A batch upload's options, as multipart fields.
#[derive(Debug, Default, Deserialize)]
pub struct UploadOptions {
    /// A folder under the server's --batch-root to read instead of uploads.
    folder: Option<String>,
    name: Option<String>,
    model: Option<String>,
    epoch: Option<String>,
    batch: Option<usize>,
    /// Score the run with the model's segmenter (`easel test --evaluate`).
    #[serde(default, deserialize_with = "flag")]
    evaluate: Option<bool>,
}

/// What the batch route takes: a multipart form of maps, photos and
/// instance maps (or a zip of them) and the run's options.
pub struct UploadFields;

impl FormSpec for UploadFields {
    type Options = UploadOptions;
    const BODY: &str = "";
    const BODY_TYPES: &[&str] = &[];
    const FILES: &[&str] = &["label", "image", "instance", "zip"];
    const HOW: &str = "send a multipart/form-data upload with `name` and `label` files (or a `zip`, or a `folder`)";
    const TOO_LARGE: &str = "send fewer files or raise --max-batch-bytes";
}

/// The files of an upload, each for one of the run's input folders.
fn uploaded_files(form: &Form<UploadFields>) -> Result<Vec<UploadedFile>, ApiError> {
    let mut files = Vec::new();
    for part in &form.parts {
        if part.name == "zip" {
            files.extend(unzip(&part.data)?);
            continue;
        }
        let kind = part.name.as_str();
        let name = part.file_name.as_deref().ok_or_else(|| {
            ApiError::Malformed(format!(
                "a `{kind}` field has no file name; files pair by name"
            ))
        })?;
        let kind = KINDS
            .iter()
            .find(|(k, _)| *k == kind)
            .map_or("label", |(_, d)| d);
        files.push(UploadedFile {
            kind,
            name: safe_file_name(name)?,
            data: part.data.to_vec(),
        });
    }
    Ok(files)
}

fn unzip(bytes: &[u8]) -> Result<Vec<UploadedFile>, ApiError> {
    let bad =
        |e: zip::result::ZipError| ApiError::Malformed(format!("the zip cannot be read: {e}"));
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(bad)?;
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let mut entry = archive.by_index(i).map_err(bad)?;
        if entry.is_dir() {
            continue;
        }
        let path = entry.name().to_string();
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (Some(file), Some(folder)) =
            (parts.last(), parts.len().checked_sub(2).map(|i| parts[i]))
        else {
            continue;
        };
        if file.starts_with('.') || path.starts_with("__MACOSX") {
            continue;
        }
        let Some(kind) = kind_of(folder) else {
            continue;
        };
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data).map_err(|e| {
            ApiError::Malformed(format!("the zip entry {path} cannot be read: {e}"))
        })?;
        files.push(UploadedFile {
            kind,
            name: safe_file_name(file)?,
            data,
        });
    }
    Ok(files)
}

/// Start (or resume) a batch run.
///
/// Multipart: `name` (the run), optional `model` (default: the default
/// model), `epoch` (default `latest`), `batch`, `evaluate` (`true`: score
/// the run with the model's segmenter, as `easel test --evaluate`); the
/// maps as repeated `label`
/// files with optional `image` (photos) and `instance` files paired by name,
/// or one `zip` with `label/`, `image/`, `instance/` folders, or `folder`:
/// a folder under the server's `--batch-root` holding such folders (refused
/// when the server has no batch root). Posting a name again with no files
/// resumes the run from its saved inputs.
#[utoipa::path(post, path = "/api/v1/batches",
    request_body(description = "multipart/form-data", content((Vec<u8> = "multipart/form-data"))),
    responses(
        (status = 202, description = "started", body = BatchStatus),
        (status = 400, description = "malformed request or name", body = ErrorBody),
        (status = 401, description = "the server has an API token and this request did not send it", body = ErrorBody),
        (status = 403, description = "a `folder` outside the batch root, or the server reads no folders", body = ErrorBody),
        (status = 404, description = "no such model or folder", body = ErrorBody),
        (status = 409, description = "this run is already going, or was made with another model", body = ErrorBody),
        (status = 413, description = "upload too large", body = ErrorBody),
        (status = 422, description = "the files do not pair up by name", body = ErrorBody),
    ))]
pub async fn start(
    State(state): State<Arc<AppState>>,
    form: Form<UploadFields>,
) -> Result<Response, ApiError> {
    let files = uploaded_files(&form)?;
    let up = form.options;
    let name = up.name.ok_or_else(|| {
        ApiError::Malformed("no `name`: name the run (it becomes results/<name>/)".into())
    })?;
    let epoch = up.epoch.unwrap_or_else(|| "latest".into());
    let results = state.config.results_dir.clone();
    let dir = RunDir::new(&results, &name, &epoch)?;
    let model = up.model.unwrap_or_else(|| state.default_model.clone());
    let worker = super::models::worker(&state, &model)?;
    // Refused before anything is written, as `easel test --evaluate` is.
    let judge = match (up.evaluate.unwrap_or(false), worker.segmenter()) {
        (false, _) => None,
        (true, None) => {
            return Err(ApiError::InvalidMap(format!(
                "model {model} has no segmenter to score the run with; leave out `evaluate`, or score it with `easel test --evaluate --segmenter PACKAGE`"
            )))
        }
        (true, Some(segmenter)) => Some(
            crate::runs::scores::Judge::new(segmenter.clone(), worker.card(), worker.card())
                .map_err(|e| ApiError::InvalidMap(e.to_string()))?,
        ),
    };
    let id = batch_id(&name, &epoch);
    if state
        .batches
        .running
        .lock()
        .map_err(|_| ApiError::broken("the batch table is poisoned"))?
        .contains_key(&id)
    {
        return Err(ApiError::Conflict(format!(
            "batch {id} is already running; follow /api/v1/batches/{id}/events"
        )));
    }
    let (label_dir, image_dir, instance_dir) = match up.folder {
        Some(folder) => {
            let root = state.config.batch_root.clone();
            tokio::task::spawn_blocking(move || server_folder(root.as_deref(), &folder)).await??
        }
        None => save_uploads(&dir, files).await?,
    };
    let card = worker.card().clone();
    let execution = worker.execution().clone();
    let max_pixels = state.config.max_pixels;
    let run = tokio::task::spawn_blocking({
        let (results, name, epoch) = (results.clone(), name.clone(), epoch.clone());
        move || {
            Run::open(
                &RunSpec {
                    results: &results,
                    name: &name,
                    epoch: &epoch,
                    label_dir: &label_dir,
                    image_dir: image_dir.as_deref(),
                    instance_dir: instance_dir.as_deref(),
                    how_many: None,
                    max_pixels,
                    shard: crate::runs::shard::Shard::WHOLE,
                    execution: &execution,
                },
                &card,
            )
        }
    })
    .await??;
    let mut run = run;
    if let Some(judge) = judge {
        run.evaluate_with(judge);
    }
    let (sender, receiver) = watch::channel(run.manifest.progress());
    {
        let mut running = state
            .batches
            .running
            .lock()
            .map_err(|_| ApiError::broken("the batch table is poisoned"))?;
        if running.contains_key(&id) {
            return Err(ApiError::Conflict(format!("batch {id} is already running")));
        }
        running.insert(id.clone(), receiver);
    }
    let body = status_of(&dir, &model, run.manifest.progress(), None);
    let batch = up.batch.unwrap_or(state.config.worker.max_batch).max(1);
    let table = state.clone();
    let runtime = tokio::runtime::Handle::current();
    tokio::task::spawn_blocking(move || {
        let mut run = run;
        // A run that stopped leaves the table before its last event goes
        // out: a client that saw it complete may start it again at once.
        let mut progress = |p: Progress| {
            if p.state != RunState::Running {
                if let Ok(mut running) = table.batches.running.lock() {
                    running.remove(&id);
                }
            }
            let _ = sender.send(p);
        };
        // At most one batch queued at a time, so a long run leaves room
        // for painters; the worker waits for room rather than refusing.
        if let Err(e) = run.execute(&worker, &runtime, batch, &mut progress) {
            tracing::warn!("batch {id} failed: {e}");
        }
        if let Ok(mut running) = table.batches.running.lock() {
            running.remove(&id);
        }
    });
    Ok((StatusCode::ACCEPTED, Json(body)).into_response())
}

/// Saves uploaded files under the run's `inputs/` (so a restart can resume
/// from them) and returns the label, photo and instance folders.
async fn save_uploads(dir: &RunDir, files: Vec<UploadedFile>) -> Result<Folders, ApiError> {
    let inputs = dir.root.join("inputs");
    let has_labels = files.iter().any(|f| f.kind == "label") || inputs.join("label").is_dir();
    if !has_labels {
        return Err(ApiError::Malformed(
            "no label maps: send `label` files, a `zip` with a label/ folder, or a `folder` under the server's --batch-root".into(),
        ));
    }
    tokio::task::spawn_blocking(move || -> Result<Folders, ApiError> {
        for file in &files {
            let folder = inputs.join(file.kind);
            std::fs::create_dir_all(&folder)
                .map_err(|e| ApiError::internal(format!("creating {}", folder.display()), e))?;
            crate::runs::write_atomic(&folder.join(&file.name), &file.data)?;
        }
        let folder = |kind: &str| Some(inputs.join(kind)).filter(|p| p.is_dir());
        Ok((inputs.join("label"), folder("image"), folder("instance")))
    })
    .await?
}

/// (labels, photos, instance maps)
type Folders = (PathBuf, Option<PathBuf>, Option<PathBuf>);

/// A folder on the server, allowed only under `root`: its `label/` (or
/// `*_label/`), `image/` (`*_img/`) and `instance/` (`*_inst/`) folders.
fn server_folder(root: Option<&FsPath>, folder: &str) -> Result<Folders, ApiError> {
    let root = root.ok_or_else(|| {
        ApiError::Forbidden(
            "this server does not read its own folders; upload the files, or start it with --batch-root DIR to allow folders under DIR".into(),
        )
    })?;
    let root = root
        .canonicalize()
        .map_err(|e| ApiError::internal(format!("the batch root {}", root.display()), e))?;
    let dir = root
        .join(folder)
        .canonicalize()
        .map_err(|_| ApiError::NotFound(format!("no folder `{folder}` under the batch root")))?;
    if !dir.starts_with(&root) || !dir.is_dir() {
        return Err(ApiError::Forbidden(format!(
            "`{folder}` is not a folder under the batch root; name one relative to it"
        )));
    }
    let mut found: HashMap<&'static str, PathBuf> = HashMap::new();
    for entry in std::fs::read_dir(&dir)
        .map_err(|e| ApiError::internal(format!("reading {}", dir.display()), e))?
        .flatten()
    {
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some(kind) = kind_of(&name).filter(|_| entry.path().is_dir()) {
            found.entry(kind).or_insert_with(|| entry.path());
        }
    }
    let label = found.remove("label").ok_or_else(|| {
        ApiError::Malformed(format!(
            "`{folder}` has no label/ (or *_label/) folder of label maps"
        ))
    })?;
    Ok((label, found.remove("image"), found.remove("instance")))
}

/// A batch run's progress (runs made by `easel test` too).
#[utoipa::path(get, path = "/api/v1/batches/{id}", params(("id" = String, Path, description = "`<name>@<epoch>`")),
    responses((status = 200, body = BatchStatus), (status = 404, body = ErrorBody)))]
pub async fn status(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Json<BatchStatus>, ApiError> {
    let dir = parse_id(&state.config.results_dir, &id)?;
    let manifest = read_manifest(&dir).await?;
    let live = state
        .batches
        .running
        .lock()
        .ok()
        .and_then(|r| r.get(&id).map(|rx| *rx.borrow()));
    Ok(Json(status_of(
        &dir,
        &manifest.model,
        live.unwrap_or_else(|| manifest.progress()),
        manifest.error,
    )))
}

async fn read_manifest(dir: &RunDir) -> Result<crate::runs::Manifest, ApiError> {
    let d = dir.clone();
    tokio::task::spawn_blocking(move || d.read_manifest())
        .await??
        .ok_or_else(|| ApiError::NotFound(format!("no batch {}@{}", dir.name, dir.epoch)))
}

/// Progress as server-sent events: `progress` events with a
/// `{done, failed, total, state}` body, the current one at once and then
/// each change, until the run stops: the last event says the state it
/// stopped in (complete or failed), and the stream ends.
#[utoipa::path(get, path = "/api/v1/batches/{id}/events", params(("id" = String, Path, description = "`<name>@<epoch>`")),
    responses((status = 200, description = "text/event-stream", content_type = "text/event-stream"), (status = 404, body = ErrorBody)))]
pub async fn events(
    State(state): State<Arc<AppState>>,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let dir = parse_id(&state.config.results_dir, &id)?;
    // The live run first: a run that ends between reading its manifest and
    // this lookup would otherwise be reported as it stood before it ended.
    let live = state
        .batches
        .running
        .lock()
        .ok()
        .and_then(|r| r.get(&id).cloned());
    let receiver = match live {
        Some(r) => r,
        // Not running here (another replica's, or shards run by Kubernetes):
        // its run.json, read again each second until it stops.
        None => {
            let now = read_manifest(&dir).await?.progress();
            follow_on_disk(dir, now)
        }
    };
    let event = |p: &Progress| {
        Event::default()
            .event("progress")
            .json_data(p)
            .unwrap_or_default()
    };
    // Each progress as it is: the current one at once, then each change
    // when it comes, until the run stops (or its sender goes).
    let stream = futures_util::stream::unfold(
        (receiver, Follow::Now),
        move |(mut rx, follow)| async move {
            match follow {
                Follow::Ended => return None,
                Follow::Next if rx.changed().await.is_err() => return None,
                Follow::Next | Follow::Now => {}
            }
            let progress = *rx.borrow_and_update();
            let then = if progress.state == RunState::Running {
                Follow::Next
            } else {
                Follow::Ended
            };
            Some((
                Ok::<_, std::convert::Infallible>(event(&progress)),
                (rx, then),
            ))
        },
    );
    Ok(Sse::new(stream)
        .keep_alive(KeepAlive::default())
        .into_response())
}

/// Where an events stream stands.
#[derive(Clone, Copy)]
enum Follow {
    /// Send the progress as it is now.
    Now,
    /// Wait for the next change.
    Next,
    Ended,
}

/// Progress of a run made elsewhere, from its `run.json` (the merge of its
/// shards' records) each second, until it is no longer running or no one
/// listens.
fn follow_on_disk(dir: RunDir, now: Progress) -> watch::Receiver<Progress> {
    let (sender, receiver) = watch::channel(now);
    if now.state == RunState::Running {
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = sender.closed() => return,
                    _ = tokio::time::sleep(std::time::Duration::from_secs(1)) => {}
                }
                let Ok(manifest) = read_manifest(&dir).await else {
                    return;
                };
                let progress = manifest.progress();
                sender.send_if_modified(|p| std::mem::replace(p, progress) != progress);
                if progress.state != RunState::Running {
                    return;
                }
            }
        });
    }
    receiver
}
