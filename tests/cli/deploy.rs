//! What can be checked of the container images without a Docker engine:
//! the files the Dockerfile copies exist, its entrypoint is the binary these
//! tests test, the documented build arguments and variables exist, and the
//! health checks name real endpoints.

use crate::support::{easel, repo};

fn read(path: &str) -> String {
    std::fs::read_to_string(repo().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Dockerfile instructions with continuation lines joined.
fn instructions() -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in read("Dockerfile").lines() {
        let line = line.trim();
        if line.starts_with('#') || (line.is_empty() && current.is_empty()) {
            continue;
        }
        match line.strip_suffix('\\') {
            Some(head) => current.push_str(head),
            None => {
                current.push_str(line);
                let (op, rest) = current
                    .trim()
                    .split_once(' ')
                    .unwrap_or((current.trim(), ""));
                out.push((op.to_uppercase(), rest.trim().to_string()));
                current.clear();
            }
        }
    }
    out
}

#[test]
fn every_file_the_dockerfile_copies_from_the_tree_exists_and_is_not_ignored() {
    let ignore = read(".dockerignore");
    let ignored: Vec<&str> = ignore.lines().filter(|l| !l.is_empty()).collect();
    let mut copies = 0;
    for (op, args) in instructions() {
        if op != "COPY" || args.starts_with("--from") {
            continue;
        }
        let parts: Vec<&str> = args.split_whitespace().collect();
        for source in &parts[..parts.len() - 1] {
            assert!(
                repo().join(source).exists(),
                "COPY {source}: not in the repository"
            );
            assert!(
                !ignored.contains(source),
                "COPY {source} is excluded by .dockerignore"
            );
            copies += 1;
        }
    }
    assert!(
        copies >= 5,
        "the build copies the workspace, page and model"
    );
    for needed in ["target", ".venv", "frontend/node_modules", ".git"] {
        assert!(
            ignored.contains(&needed),
            ".dockerignore leaves out {needed}"
        );
    }
}

#[test]
fn the_images_run_the_easel_binary_the_tests_test_as_a_non_root_user() {
    let all = instructions();
    let run = all
        .iter()
        .find(|(op, a)| op == "RUN" && a.contains("cargo build"))
        .expect("a build stage");
    assert!(
        run.1.contains("--release") && run.1.contains("--locked") && run.1.contains("--bin easel"),
        "{}",
        run.1
    );
    assert!(
        run.1.contains("target/release/easel"),
        "the release binary is what the image gets"
    );
    let entry = all
        .iter()
        .rfind(|(op, _)| op == "ENTRYPOINT")
        .expect("an entrypoint");
    assert_eq!(entry.1, r#"["easel"]"#);
    assert!(all.iter().any(|(op, a)| op == "COPY"
        && a.starts_with("--from=build /usr/local/bin/easel /usr/local/bin/easel")));
    let user = all.iter().rfind(|(op, _)| op == "USER").expect("a USER");
    assert_ne!(user.1, "root");
    assert_ne!(user.1, "0");
    for target in ["build", "cpu", "cuda"] {
        assert!(
            all.iter()
                .any(|(op, a)| op == "FROM" && a.ends_with(&format!(" AS {target}"))),
            "stage {target}"
        );
    }
    let last = all.iter().rfind(|(op, _)| op == "FROM").unwrap();
    assert!(
        last.1.ends_with("AS cpu"),
        "a plain `docker build .` makes the CPU image"
    );
}

#[test]
fn the_health_check_and_probes_name_real_endpoints_and_commands() {
    let all = instructions();
    let health = all
        .iter()
        .find(|(op, _)| op == "HEALTHCHECK")
        .expect("a HEALTHCHECK");
    assert!(
        health
            .1
            .contains(r#"["easel", "health", "--url", "http://127.0.0.1:8080/readyz"]"#),
        "{}",
        health.1
    );
    let help = easel().args(["health", "--help"]).output().unwrap();
    assert!(help.status.success(), "`easel health` exists");
    let k8s = read("deploy/kubernetes/easel.yaml");
    for path in ["/readyz", "/healthz"] {
        assert!(k8s.contains(&format!("path: {path}")), "probe on {path}");
    }
    for kind in ["Deployment", "Service", "HorizontalPodAutoscaler"] {
        assert!(k8s.contains(&format!("kind: {kind}")), "{kind}");
    }
    assert!(k8s.contains("nvidia.com/gpu: 1"), "GPU resource request");
}

/// The EASEL_ variable names in `texts`, sorted, once each.
fn easel_variables(texts: &[&str]) -> Vec<String> {
    let mut names: Vec<String> = texts
        .iter()
        .flat_map(|t| t.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')))
        .filter(|w| w.starts_with("EASEL_") && w.len() > 6)
        .map(str::to_string)
        .collect();
    names.sort();
    names.dedup();
    names
}

#[test]
fn documented_build_arguments_and_variables_exist() {
    let dockerfile = read("Dockerfile");
    let deploy = read("docs/deploy.md");
    let args: Vec<String> = instructions()
        .into_iter()
        .filter(|(op, _)| op == "ARG")
        .map(|(_, a)| a.split('=').next().unwrap().to_string())
        .collect();
    for arg in [
        "RUST_VERSION",
        "DEBIAN",
        "PYTHON_VERSION",
        "ORT_VERSION",
        "OV_VERSION",
        "CUDNN_VERSION",
    ] {
        assert!(
            args.contains(&arg.to_string()),
            "ARG {arg} in the Dockerfile"
        );
        assert!(deploy.contains(&format!("`{arg}`")), "{arg} documented");
    }
    // Every EASEL_ variable the image or the docs set is one `easel serve`
    // reads, but for the SLURM section's: those the scripts read.
    let help = easel().args(["serve", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).to_string();
    let (serving, slurm) = deploy
        .split_once("\n## SLURM")
        .expect("docs/deploy.md has a SLURM section");
    let scripts = read("deploy/slurm/test-run.sbatch") + &read("deploy/slurm/train.sbatch");
    for name in easel_variables(&[slurm]) {
        assert!(
            scripts.contains(name.as_str()) || help.contains(&format!("[env: {name}=")),
            "{name} in the SLURM section is read by neither deploy/slurm script nor `easel serve`"
        );
    }
    let names = easel_variables(&[
        dockerfile.as_str(),
        serving,
        &read("deploy/kubernetes/easel.yaml"),
    ]);
    assert!(names.len() >= 15, "{names:?}");
    for name in names {
        if name == "EASEL_LOG" {
            continue; // read by the logger, not a flag
        }
        // A secret's variable is listed without its value.
        assert!(
            help.contains(&format!("[env: {name}=")) || help.contains(&format!("[env: {name}]")),
            "{name} is not an `easel serve` variable"
        );
    }
}

#[test]
fn the_onnx_runtime_version_is_the_same_everywhere() {
    let makefile = read("Makefile");
    let version = makefile
        .lines()
        .find_map(|l| l.strip_prefix("ORT_VERSION := "))
        .expect("ORT_VERSION in the Makefile");
    assert!(read("Dockerfile").contains(&format!("ARG ORT_VERSION={version}")));
    assert_eq!(
        easel::inference::runtime::ORT_WHEEL,
        format!("onnxruntime=={version}")
    );
}

#[test]
fn the_sharded_job_splits_into_as_many_shards_as_it_runs_pods_with_flags_easel_test_takes() {
    let job = read("deploy/kubernetes/test-run.yaml");
    let number_after = |key: &str| -> usize {
        let rest = job
            .split(key)
            .nth(1)
            .unwrap_or_else(|| panic!("{key} in test-run.yaml"));
        rest.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
            .parse()
            .unwrap()
    };
    let completions = number_after("completions: ");
    assert_eq!(
        number_after("--shard=$(SHARD)/"),
        completions,
        "--shard's N is the Job's completions"
    );
    assert!(number_after("parallelism: ") <= completions);
    assert!(job.contains("completionMode: Indexed"));
    assert!(job.contains("batch.kubernetes.io/job-completion-index"));
    let help = easel().args(["test", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout).into_owned();
    let flags: Vec<&str> = job
        .lines()
        .filter_map(|l| l.trim().strip_prefix("- --"))
        .map(|f| f.split(['=', ' ']).next().unwrap())
        .collect();
    assert!(flags.len() >= 6, "{flags:?}");
    for flag in flags {
        assert!(
            help.contains(&format!("--{flag}")),
            "easel test takes no --{flag}"
        );
    }
    assert!(
        job.contains("claimName: easel-results"),
        "the servers' results volume"
    );
    assert!(read("deploy/kubernetes/easel.yaml").contains("name: easel-results"));
}

#[test]
fn the_openvino_version_is_the_same_everywhere() {
    let version = read("Makefile")
        .lines()
        .find_map(|l| l.strip_prefix("OV_VERSION := ").map(str::to_string))
        .expect("OV_VERSION in the Makefile");
    assert!(read("Dockerfile").contains(&format!("ARG OV_VERSION={version}")));
    assert!(read("docs/deploy.md").contains(&format!("`OV_VERSION` ({version}")));
    assert_eq!(
        easel::inference::openvino::OPENVINO_WHEEL,
        format!("openvino=={version}")
    );
}
