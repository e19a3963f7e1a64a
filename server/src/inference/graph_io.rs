//! What every runtime shares: a graph's named inputs and float outputs, and
//! where `make` puts the runtimes' libraries.

use std::path::{Path, PathBuf};

/// One named input of a graph: its shape and a view of its values.
pub struct GraphInput<'a> {
    pub name: &'static str,
    pub shape: Vec<usize>,
    pub data: InputData<'a>,
}

pub enum InputData<'a> {
    F32(&'a [f32]),
    I64(&'a [i64]),
}

impl<'a> GraphInput<'a> {
    /// Item `k` of a batch of `n` (the input's first dimension).
    pub fn item(&self, k: usize, n: usize) -> GraphInput<'a> {
        let mut shape = self.shape.clone();
        shape[0] = 1;
        let slice = |len: usize| (k * len / n)..((k + 1) * len / n);
        let data = match self.data {
            InputData::F32(v) => InputData::F32(&v[slice(v.len())]),
            InputData::I64(v) => InputData::I64(&v[slice(v.len())]),
        };
        GraphInput {
            name: self.name,
            shape,
            data,
        }
    }

    pub fn f32(name: &'static str, shape: Vec<usize>, values: &'a [f32]) -> Self {
        Self {
            name,
            shape,
            data: InputData::F32(values),
        }
    }

    pub fn i64(name: &'static str, shape: Vec<usize>, values: &'a [i64]) -> Self {
        Self {
            name,
            shape,
            data: InputData::I64(values),
        }
    }
}

/// A float tensor the graph returned.
#[derive(Debug, Clone)]
pub struct Output {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Libraries named `prefix*` in `<venv>/lib/python*/site-packages/<folder>`
/// of the nearest project virtualenv above the working folder, else above
/// the binary: where `make` installs the runtimes' wheels.
pub fn venv_libraries(venv: &str, folder: &str, prefix: &str) -> Vec<PathBuf> {
    let mut roots: Vec<PathBuf> = Vec::new();
    if let Ok(cwd) = std::env::current_dir() {
        roots.extend(cwd.ancestors().map(Path::to_path_buf));
    }
    if let Ok(exe) = std::env::current_exe() {
        roots.extend(exe.ancestors().skip(1).map(Path::to_path_buf));
    }
    let mut found = Vec::new();
    for root in roots {
        let Ok(pythons) = std::fs::read_dir(root.join(venv).join("lib")) else {
            continue;
        };
        for py in pythons.flatten() {
            let Ok(files) = std::fs::read_dir(py.path().join("site-packages").join(folder)) else {
                continue;
            };
            let mut libs: Vec<PathBuf> = files
                .flatten()
                .map(|f| f.path())
                .filter(|p| {
                    p.file_name()
                        .and_then(|n| n.to_str())
                        .is_some_and(|n| n.starts_with(prefix))
                })
                .collect();
            libs.sort();
            found.extend(libs);
        }
        if !found.is_empty() {
            break;
        }
    }
    found
}
