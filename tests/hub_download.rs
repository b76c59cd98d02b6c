//! The real hub download path (`hf-hub`), against a small stand-in for the Hugging Face
//! hub served on 127.0.0.1 by this test: `--model gpt2` with an empty cache downloads
//! config.json, model.safetensors and the tokenizer files into the standard cache
//! layout (blobs/, snapshots/<commit>/, refs/main), then works offline from there. A
//! download cut short leaves nothing in the snapshot.

mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};

use common::{assert_one_line_error, json_ok, Sandbox};

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Serves `files` as `/{repo}/resolve/main/{name}` with the headers the hub sends
/// (x-repo-commit, etag, content-range), honouring Range requests; 404 otherwise.
/// `cut` truncates the body of one file to simulate a dropped connection.
struct FakeHub {
    url: String,
    requests: Arc<Mutex<Vec<String>>>,
}

fn serve(repo: &str, files: BTreeMap<String, Vec<u8>>, cut: Option<&str>) -> FakeHub {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let requests = Arc::new(Mutex::new(Vec::new()));
    let log = requests.clone();
    let prefix = format!("/{repo}/resolve/main/");
    let cut = cut.map(str::to_string);
    std::thread::spawn(move || {
        for stream in listener.incoming().take(200) {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let path = line.split_whitespace().nth(1).unwrap_or("").to_string();
            let mut range = None;
            loop {
                let mut h = String::new();
                if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                    break;
                }
                if let Some(v) = h.to_ascii_lowercase().strip_prefix("range: bytes=") {
                    let (a, b) = v.trim().split_once('-').unwrap();
                    range = Some((a.parse::<usize>().unwrap(), b.parse::<usize>().ok()));
                }
            }
            log.lock().unwrap().push(path.clone());
            let name = path.strip_prefix(&prefix).unwrap_or("");
            let Some(body) = files.get(name) else {
                let _ = stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
                continue;
            };
            let (a, b) = match range {
                Some((a, b)) => (a, b.unwrap_or(body.len() - 1).min(body.len() - 1)),
                None => (0, body.len() - 1),
            };
            let etag = format!(
                "\"{:016x}{:08x}\"",
                body.iter().fold(0xcbf29ce484222325u64, |h, &x| (h ^ x as u64)
                    .wrapping_mul(0x100000001b3)),
                body.len()
            );
            let part = &body[a..=b];
            let head = format!(
                "HTTP/1.1 206 Partial Content\r\nContent-Length: {}\r\nContent-Range: bytes {a}-{b}/{}\r\nx-repo-commit: {COMMIT}\r\netag: {etag}\r\nConnection: close\r\n\r\n",
                part.len(),
                body.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let send = if cut.as_deref() == Some(name) && part.len() > 1 {
                &part[..part.len() / 2]
            } else {
                part
            };
            let _ = stream.write_all(send);
        }
    });
    FakeHub { url, requests }
}

fn files_of(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    ["config.json", "model.safetensors", "vocab.json", "merges.txt"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read(dir.join(f)).unwrap()))
        .collect()
}

#[test]
fn downloads_into_the_standard_cache_then_works_offline() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let hub = serve("openai-community/gpt2", files_of(&src), None);
    let prompt = "The best thing about AI is its ability to";
    let mut c = sb.command(&["next-token", "--model", "gpt2", "--json", prompt]);
    c.env_remove("HF_HUB_OFFLINE").env("HF_ENDPOINT", &hub.url);
    let out = c.output().unwrap();
    let downloaded = json_ok(&out);
    let reference = json_ok(&sb.run(&["next-token", "--model", src.to_str().unwrap(), "--json", prompt]));
    assert_eq!(
        downloaded["top"], reference["top"],
        "the downloaded model gives other numbers than its source folder"
    );
    let requested = hub.requests.lock().unwrap().clone();
    assert!(
        requested.iter().any(|r| r.ends_with("/model.safetensors")),
        "model.safetensors was not requested: {requested:?}"
    );

    let repo = sb.hf_home().join("hub/models--openai-community--gpt2");
    assert_eq!(std::fs::read_to_string(repo.join("refs/main")).unwrap().trim(), COMMIT);
    for f in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
        let p = repo.join("snapshots").join(COMMIT).join(f);
        assert_eq!(
            std::fs::read(&p).unwrap(),
            std::fs::read(src.join(f)).unwrap(),
            "{f} in the cache differs from the served file"
        );
    }

    // From the cache, offline, with the server gone from the picture.
    let again = json_ok(&sb.run(&["next-token", "--model", "gpt2", "--json", prompt]));
    assert_eq!(again["top"], reference["top"]);
}

#[test]
fn a_download_cut_short_leaves_no_file_in_the_snapshot() {
    let sb = Sandbox::new();
    let src = sb.synthetic_small("src");
    let hub = serve("openai-community/gpt2", files_of(&src), Some("model.safetensors"));
    let mut c = sb.command(&["next-token", "--model", "gpt2", "hello"]);
    c.env_remove("HF_HUB_OFFLINE").env("HF_ENDPOINT", &hub.url);
    let out = c.output().unwrap();
    // Progress lines first ("downloading ..."), then one error line.
    let err = common::stderr(&out);
    let last = err.lines().last().unwrap_or("");
    assert!(!out.status.success() && !err.contains("panicked"), "{err}");
    assert!(
        last.starts_with("error: ") && last.contains("model.safetensors") && last.contains("Fix:"),
        "{err}"
    );
    let snap = sb
        .hf_home()
        .join("hub/models--openai-community--gpt2/snapshots")
        .join(COMMIT);
    assert!(
        !snap.join("model.safetensors").exists(),
        "a half-downloaded model.safetensors was left in the snapshot"
    );
    // And offline the model is (correctly) still not there.
    assert_one_line_error(&sb.run(&["next-token", "--model", "gpt2", "hello"]), &["gpt2"]);
}
