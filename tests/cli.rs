//! The `gpt2-explorer` command line, end to end, offline: every kind of bad input ends
//! in a non-zero exit with exactly one `error: ...` line naming the problem, no panic
//! and no file created or changed; and the happy paths give the documented JSON.

mod common;

use std::path::Path;

use common::{assert_one_line_error, copy_dir, json_ok, stdout, tiny_hf_fixture, Sandbox};
use safetensors::tensor::TensorView;
use safetensors::{Dtype, SafeTensors};
use serde_json::Value;

const HELLO_IDS: [u64; 3] = [15496, 995, 0];

/// Runs a command that must fail, checks the error line and that the sandbox is
/// exactly as it was (no partial or temporary files); returns the error line.
#[track_caller]
fn fails(sb: &Sandbox, args: &[&str], needles: &[&str]) -> String {
    let before = sb.snapshot();
    let out = sb.run(args);
    let line = assert_one_line_error(&out, needles);
    assert_eq!(
        before,
        sb.snapshot(),
        "the failed command `{}` changed files in the sandbox",
        args.join(" ")
    );
    line
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A model folder's safetensors entries, owned: (name, dtype, shape, bytes).
type Entries = Vec<(String, Dtype, Vec<usize>, Vec<u8>)>;

/// Rewrites `dir/model.safetensors` after `edit` has changed its entries.
fn rewrite_weights(dir: &Path, edit: impl FnOnce(&mut Entries)) {
    let path = dir.join("model.safetensors");
    let bytes = std::fs::read(&path).unwrap();
    let st = SafeTensors::deserialize(&bytes).unwrap();
    let mut entries: Entries = st
        .tensors()
        .into_iter()
        .map(|(n, v)| (n, v.dtype(), v.shape().to_vec(), v.data().to_vec()))
        .collect();
    drop(st);
    edit(&mut entries);
    let views: Vec<(String, TensorView)> = entries
        .iter()
        .map(|(n, d, s, b)| (n.clone(), TensorView::new(*d, s.clone(), b).unwrap()))
        .collect();
    let data = safetensors::serialize(views, None).unwrap();
    std::fs::write(&path, data).unwrap();
}

fn edit_config(dir: &Path, key: &str, value: Value) {
    let path = dir.join("config.json");
    let mut cfg: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    cfg[key] = value;
    std::fs::write(&path, serde_json::to_string_pretty(&cfg).unwrap()).unwrap();
}

fn words(n: usize) -> String {
    vec!["word"; n].join(" ")
}

// ---------------------------------------------------------------------------------
// Bad model folders and checkpoints.

#[test]
fn missing_model_folder() {
    let sb = Sandbox::new();
    fails(
        &sb,
        &["next-token", "--model", "/nonexistent/dir", "Hello"],
        &["/nonexistent/dir", "does not exist"],
    );
    fails(
        &sb,
        &["generate", "--model", "./nope", "Hello"],
        &["./nope", "does not exist"],
    );
    fails(
        &sb,
        &["tokens", "--model", "/nonexistent/dir", "Hello"],
        &["/nonexistent/dir", "does not exist"],
    );
}

#[test]
fn folder_without_config_json() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    std::fs::remove_file(dir.join("config.json")).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["config.json", "missing"],
    );
}

#[test]
fn folder_without_model_safetensors() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["model.safetensors", "missing"],
    );
    fails(
        &sb,
        &["generate", "--model", p(&dir), "Hello"],
        &["model.safetensors", "missing"],
    );
}

#[test]
fn folder_without_tokenizer_files() {
    let sb = Sandbox::new();
    let dir = sb.path("tiny");
    copy_dir(&tiny_hf_fixture(), &dir);
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["tokenizer.json", "vocab.json", "merges.txt"],
    );
    fails(&sb, &["tokens", "--model", p(&dir), "Hello"], &["tokenizer.json"]);
}

#[test]
fn truncated_model_safetensors() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let w = dir.join("model.safetensors");
    let bytes = std::fs::read(&w).unwrap();
    std::fs::write(&w, &bytes[..bytes.len() / 2]).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["model.safetensors", "truncated"],
    );
}

#[test]
fn garbage_model_safetensors() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let garbage: Vec<u8> = (0..5000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("model.safetensors"), garbage).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["model.safetensors", "corrupt"],
    );
    // Empty, and a header length that claims more than the file holds.
    std::fs::write(dir.join("model.safetensors"), b"").unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["model.safetensors"],
    );
    let mut lying = 100u64.to_le_bytes().to_vec();
    lying.extend_from_slice(b"{}");
    std::fs::write(dir.join("model.safetensors"), lying).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["model.safetensors"],
    );
}

#[test]
fn invalid_config_json() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    std::fs::write(dir.join("config.json"), "{ not json").unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["config.json", "invalid"],
    );
    std::fs::write(dir.join("config.json"), r#"{"vocab_size": 50257}"#).unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["config.json", "n_positions"],
    );
    let dir2 = sb.synthetic_small("m2");
    edit_config(&dir2, "model_type", "bert".into());
    fails(
        &sb,
        &["next-token", "--model", p(&dir2), "Hello"],
        &["config.json", "model_type", "bert"],
    );
    // A llama model_type goes to the Llama loader, which names what its config lacks.
    edit_config(&dir2, "model_type", "llama".into());
    fails(
        &sb,
        &["next-token", "--model", p(&dir2), "Hello"],
        &["config.json", "hidden_size"],
    );
    edit_config(&dir2, "model_type", "gpt2".into());
    edit_config(&dir2, "n_head", 3.into());
    fails(
        &sb,
        &["next-token", "--model", p(&dir2), "Hello"],
        &["config.json", "n_head"],
    );
}

#[test]
fn config_n_embd_disagrees_with_checkpoint() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    edit_config(&dir, "n_embd", 128.into());
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["shape", "config.json"],
    );
}

#[test]
fn config_n_layer_disagrees_with_checkpoint() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("more");
    edit_config(&dir, "n_layer", 3.into());
    fails(&sb, &["next-token", "--model", p(&dir), "Hello"], &["h.2.", "missing"]);
    // Fewer blocks than the checkpoint: the hub layout's mask buffer of block 1 is named,
    // and in the transformers layout (the tiny fixture) block 1's weights are unexpected.
    edit_config(&dir, "n_layer", 1.into());
    fails(&sb, &["next-token", "--model", p(&dir), "Hello"], &["h.1.", "n_layer"]);
    let tiny = sb.path("tiny");
    copy_dir(&tiny_hf_fixture(), &tiny);
    for f in ["vocab.json", "merges.txt"] {
        std::fs::copy(common::tokenizer_dir().join(f), tiny.join(f)).unwrap();
    }
    edit_config(&tiny, "n_layer", 1.into());
    fails(&sb, &["next-token", "--model", p(&tiny), "!"], &["h.1.", "unexpected"]);
}

#[test]
fn config_vocab_size_disagrees_with_checkpoint() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    edit_config(&dir, "vocab_size", 50000.into());
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["wte.weight", "shape"],
    );
}

#[test]
fn tokenizer_ids_outside_the_model_vocabulary() {
    // The tiny fixture has 512 tokens; GPT-2's tokenizer gives "Hello" id 15496.
    let sb = Sandbox::new();
    let dir = sb.path("tiny");
    copy_dir(&tiny_hf_fixture(), &dir);
    for f in ["vocab.json", "merges.txt"] {
        std::fs::copy(common::tokenizer_dir().join(f), dir.join(f)).unwrap();
    }
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["15496", "vocabulary", "512"],
    );
    fails(
        &sb,
        &["generate", "--model", p(&dir), "Hello"],
        &["15496", "vocabulary"],
    );
}

#[test]
fn unexpected_extra_tensor() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    rewrite_weights(&dir, |e| {
        e.push(("h.0.attn.extra_weight".into(), Dtype::F32, vec![2], vec![0; 8]))
    });
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["h.0.attn.extra_weight", "unexpected"],
    );
}

#[test]
fn missing_tensor() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    rewrite_weights(&dir, |e| e.retain(|(n, ..)| n != "h.1.mlp.c_fc.bias"));
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["h.1.mlp.c_fc.bias", "missing"],
    );
}

#[test]
fn wrong_shaped_and_wrong_typed_tensors() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("shape");
    rewrite_weights(&dir, |e| {
        let t = e.iter_mut().find(|(n, ..)| n == "ln_f.bias").unwrap();
        t.2 = vec![32];
        t.3.truncate(32 * 4);
    });
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["ln_f.bias", "shape", "[32]", "[64]"],
    );
    let dir = sb.synthetic_small("dtype");
    rewrite_weights(&dir, |e| {
        let t = e.iter_mut().find(|(n, ..)| n == "ln_f.bias").unwrap();
        t.1 = Dtype::F64;
        t.3 = vec![0; 64 * 8];
    });
    fails(&sb, &["next-token", "--model", p(&dir), "Hello"], &["ln_f.bias", "F64"]);
    let dir = sb.synthetic_small("twice");
    rewrite_weights(&dir, |e| {
        let t = e.iter().find(|(n, ..)| n == "ln_f.bias").unwrap().clone();
        e.push(("transformer.ln_f.bias".into(), t.1, t.2, t.3));
    });
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "Hello"],
        &["ln_f.bias", "twice"],
    );
}

// ---------------------------------------------------------------------------------
// Bad prompts and settings.

#[test]
fn empty_prompt() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    for cmd in ["tokens", "next-token", "generate"] {
        fails(&sb, &[cmd, "--model", p(&dir), ""], &["empty"]);
    }
    std::fs::write(sb.path("empty.txt"), b"").unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--file", p(&sb.path("empty.txt"))],
        &["empty"],
    );
}

#[test]
fn no_prompt_at_all() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    fails(&sb, &["next-token", "--model", p(&dir)], &["no prompt", "--file"]);
}

#[test]
fn prompt_longer_than_the_context_window() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let long = words(200);
    fails(
        &sb,
        &["next-token", "--model", p(&dir), &long],
        &["200 tokens", "context window is 128"],
    );
    fails(
        &sb,
        &["generate", "--model", p(&dir), "--max-new-tokens", "1", &long],
        &["200 tokens", "context window is 128"],
    );
}

#[test]
fn prompt_plus_new_tokens_longer_than_the_context_window() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let prompt = words(100); // 100 tokens: "word" and 99 " word"
    let line = fails(
        &sb,
        &["generate", "--model", p(&dir), "--max-new-tokens", "30", &prompt],
        &["100 tokens", "new tokens", "128"],
    );
    assert!(
        line.contains("at most 29"),
        "the error should say how many new tokens fit: {line}"
    );
    // Exactly at the edge it works: 100 + 29 - 1 = 128 positions.
    let v = json_ok(&sb.run(&[
        "generate",
        "--model",
        p(&dir),
        "--max-new-tokens",
        "29",
        "--json",
        &prompt,
    ]));
    assert_eq!(v["generated_ids"].as_array().unwrap().len(), 29);
}

#[test]
fn invalid_utf8_from_a_file() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let f = sb.path("bad.txt");
    std::fs::write(&f, b"Hello \xff\xfe world").unwrap();
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--file", p(&f)],
        &["bad.txt", "utf-8", "offset 6"],
    );
    fails(&sb, &["generate", "--model", p(&dir), "--file", p(&f)], &["utf-8"]);
    fails(&sb, &["tokens", "--model", p(&dir), "--file", p(&f)], &["utf-8"]);
}

#[test]
fn invalid_utf8_from_stdin() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let before = sb.snapshot();
    for cmd in ["next-token", "generate", "tokens"] {
        let out = sb.run_stdin(&[cmd, "--model", p(&dir), "-"], b"Hello \xc3\x28 world");
        assert_one_line_error(&out, &["standard input", "utf-8"]);
    }
    assert_eq!(before, sb.snapshot());
}

#[test]
fn unreadable_prompt_file() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--file", "/nonexistent/prompt.txt"],
        &["/nonexistent/prompt.txt"],
    );
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--file", p(sb.root())],
        &["cannot read"],
    );
}

#[test]
fn bad_temperatures() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    for t in ["-1", "NaN", "nan", "inf", "-0.5"] {
        fails(
            &sb,
            &["generate", "--model", p(&dir), "--temperature", t, "Hello"],
            &["temperature", ">= 0"],
        );
    }
    fails(
        &sb,
        &["generate", "--model", p(&dir), "--temperature", "warm", "Hello"],
        &["temperature"],
    );
}

#[test]
fn bad_top() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--top", "0", "Hello"],
        &["--top", "got 0"],
    );
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--top", "50258", "Hello"],
        &["--top", "50257"],
    );
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--top", "abc", "Hello"],
        &["--top"],
    );
    fails(
        &sb,
        &["next-token", "--model", p(&dir), "--top", "-1", "Hello"],
        &["-1"],
    );
}

#[test]
fn bad_arguments_are_one_line_too() {
    let sb = Sandbox::new();
    fails(&sb, &["generate", "--max-new-tokens", "-5", "Hello"], &["-5"]);
    fails(&sb, &["next-token", "--no-such-flag", "Hello"], &["--no-such-flag"]);
    fails(&sb, &["no-such-command"], &["no-such-command"]);
    fails(&sb, &["next-token", "--file", "a.txt", "Hello"], &["--file"]);
    // A missing required argument is named (clap puts it on a line of its own).
    fails(&sb, &["synthetic", "--size", "small"], &["required", "--out"]);
    fails(&sb, &["generate", "--seed", "-1", "Hello"], &["-1"]);
}

#[test]
fn unknown_model_name() {
    let sb = Sandbox::new();
    let line = fails(
        &sb,
        &["next-token", "--model", "not-a-model", "Hello"],
        &["not-a-model", "gpt2", "folder"],
    );
    assert!(!line.contains(" ,"), "stray space in: {line}");
    fails(&sb, &["next-token", "--model", "a/b/c", "Hello"], &["a/b/c"]);
}

#[test]
fn hub_name_not_in_the_cache_offline() {
    let sb = Sandbox::new();
    let hub = sb.hf_home().join("hub");
    for args in [
        &["next-token", "--model", "gpt2", "Hello"][..],
        &["tokens", "--model", "gpt2-medium", "Hello"],
        &["generate", "--model", "someone/model", "Hello"],
    ] {
        let line = fails(
            &sb,
            args,
            &[p(&hub), "not in the Hugging Face cache", "offline", "HF_HOME", "Fix"],
        );
        assert!(
            line.contains(args[2].rsplit('/').next().unwrap()),
            "the error should name the model: {line}"
        );
    }
    let line = fails(
        &sb,
        &["next-token", "--model", "gpt2", "Hello"],
        &["models--openai-community--gpt2", "models--gpt2"],
    );
    assert!(
        line.contains("--model"),
        "the fix should mention a local --model folder: {line}"
    );
}

#[test]
fn synthetic_without_tokenizer_files_leaves_nothing_behind() {
    let sb = Sandbox::new();
    let empty = sb.path("empty-cache");
    std::fs::create_dir_all(&empty).unwrap();
    let out_dir = sb.path("out/model");
    let before = sb.snapshot();
    let out = sb.run_env(
        &["synthetic", "--size", "small", "--out", p(&out_dir)],
        &[("GPT2_EXPLORER_CACHE", &empty)],
    );
    assert_one_line_error(&out, &["vocab.json", "make setup"]);
    assert_eq!(before, sb.snapshot(), "a failed `synthetic` left files behind");
}

#[test]
fn synthetic_onto_a_file_fails_cleanly() {
    let sb = Sandbox::new();
    std::fs::write(sb.path("afile"), b"x").unwrap();
    fails(
        &sb,
        &["synthetic", "--size", "small", "--out", p(&sb.path("afile"))],
        &["afile", "not a folder"],
    );
}

// ---------------------------------------------------------------------------------
// Happy paths.

#[test]
fn synthetic_is_deterministic_and_leaves_no_temporary_files() {
    let sb = Sandbox::new();
    let a = sb.synthetic_small("a");
    let b = sb.synthetic_small("b");
    for f in ["config.json", "model.safetensors", "vocab.json", "merges.txt"] {
        assert!(
            std::fs::read(a.join(f)).unwrap() == std::fs::read(b.join(f)).unwrap(),
            "{f} differs between two runs"
        );
    }
    // Rewriting into an existing folder replaces the files in place.
    let out = sb.run(&["synthetic", "--size", "small", "--seed", "7", "--out", p(&a)]);
    assert!(out.status.success(), "{}", common::stderr(&out));
    assert!(std::fs::read(a.join("model.safetensors")).unwrap() != std::fs::read(b.join("model.safetensors")).unwrap());
    let mut names: Vec<String> = std::fs::read_dir(sb.root())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["a", "b", "cwd", "hf"]);
    let mut names: Vec<String> = std::fs::read_dir(&a)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(names, ["config.json", "merges.txt", "model.safetensors", "vocab.json"]);
}

#[test]
fn tokens_json_hello_world() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let v = json_ok(&sb.run(&["tokens", "--json", "--model", p(&dir), "Hello world!"]));
    let ids: Vec<u64> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap())
        .collect();
    assert_eq!(ids, HELLO_IDS);
    assert_eq!(v["tokens"], serde_json::json!(["Hello", " world", "!"]));
    assert_eq!(v["model"], p(&dir));
    // The table form: one line per token, the leading space shown as ␣.
    let out = sb.run(&["tokens", "--model", p(&dir), "Hello world!"]);
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "{text}");
    assert!(lines[1].contains("995") && lines[1].contains("␣world"), "{text}");
}

#[test]
fn tokens_needs_only_the_tokenizer() {
    // `tokens` reads the tokenizer files, not the weights (gpt2-xl's are 6 GB).
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    let v = json_ok(&sb.run(&["tokens", "--json", "--model", p(&dir), "Hello world!"]));
    assert_eq!(v["ids"], serde_json::json!(HELLO_IDS));
}

#[test]
fn help_and_version_still_work() {
    let sb = Sandbox::new();
    let out = sb.run(&["--help"]);
    assert!(
        out.status.success() && stdout(&out).contains("next-token"),
        "{}",
        common::stderr(&out)
    );
    let out = sb.run(&["generate", "--help"]);
    assert!(out.status.success() && stdout(&out).contains("--temperature"));
    let out = sb.run(&["--version"]);
    assert!(out.status.success() && stdout(&out).contains(env!("CARGO_PKG_VERSION")));
}

#[test]
fn prompt_from_stdin_and_file_equals_the_argument() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let f = sb.path("prompt.txt");
    std::fs::write(&f, "Hello world!").unwrap();
    let a = json_ok(&sb.run(&["next-token", "--json", "--model", p(&dir), "Hello world!"]));
    let b = json_ok(&sb.run(&["next-token", "--json", "--model", p(&dir), "--file", p(&f)]));
    let c = json_ok(&sb.run_stdin(&["next-token", "--json", "--model", p(&dir), "-"], b"Hello world!"));
    assert_eq!(a, b);
    assert_eq!(a, c);
}

fn keys(v: &Value) -> Vec<String> {
    let mut k: Vec<String> = v.as_object().expect("a JSON object").keys().cloned().collect();
    k.sort();
    k
}

#[test]
fn next_token_json_schema() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let v = json_ok(&sb.run(&["next-token", "--top", "5", "--json", "--model", p(&dir), "Hello world!"]));
    assert_eq!(keys(&v), ["model", "prompt_ids", "top"]);
    assert!(v["model"].is_string());
    let ids: Vec<u64> = v["prompt_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().expect("an integer id"))
        .collect();
    assert_eq!(ids, HELLO_IDS);
    let top = v["top"].as_array().unwrap();
    assert_eq!(top.len(), 5);
    let mut last = f64::INFINITY;
    let mut seen = std::collections::HashSet::new();
    for row in top {
        assert_eq!(keys(row), ["id", "logprob", "prob", "token"]);
        let id = row["id"].as_u64().expect("id is an integer");
        assert!(id < 50257 && seen.insert(id), "bad or repeated id {id}");
        assert!(row["token"].is_string());
        let prob = row["prob"].as_f64().unwrap();
        let logprob = row["logprob"].as_f64().unwrap();
        assert!(prob > 0.0 && prob <= 1.0, "prob {prob}");
        assert!(prob <= last, "probabilities are not descending: {top:?}");
        assert!(
            (logprob - prob.ln()).abs() < 1e-9,
            "logprob {logprob} != ln(prob {prob})"
        );
        last = prob;
    }
    // The table form: the prompt, then one line per token.
    let text = stdout(&sb.run(&["next-token", "--top", "3", "--model", p(&dir), "Hello world!"]));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 4, "{text}");
    assert_eq!(lines[0], "Hello world!");
    assert!(
        lines[1].trim_start().starts_with("1.") && lines[1].contains(&format!("id {}", top[0]["id"])),
        "{text}"
    );
}

fn generate(sb: &Sandbox, dir: &Path, extra: &[&str]) -> Value {
    let mut args = vec!["generate", "--json", "--model", p(dir)];
    args.extend_from_slice(extra);
    args.push("Hello world!");
    json_ok(&sb.run(&args))
}

fn ids(v: &Value) -> Vec<u32> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().expect("an integer id") as u32)
        .collect()
}

#[test]
fn generate_json_schema_and_seeds() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let a = generate(
        &sb,
        &dir,
        &["--temperature", "0.8", "--seed", "1", "--max-new-tokens", "30"],
    );
    let mut k = keys(&a);
    k.retain(|x| x != "temperature");
    assert_eq!(k, ["generated_ids", "model", "prompt_ids", "seed", "text"]);
    assert!(a["model"].is_string() && a["text"].is_string());
    assert_eq!(ids(&a["prompt_ids"]), HELLO_IDS.map(|x| x as u32));
    assert_eq!(a["seed"].as_u64(), Some(1));
    if let Some(t) = a.get("temperature") {
        assert_eq!(t.as_f64(), Some(0.8));
    }
    let gen = ids(&a["generated_ids"]);
    assert_eq!(gen.len(), 30);
    assert!(gen.iter().all(|&i| i < 50257));
    // The text is the decoded continuation (the tokenizer's own round trip).
    let tok = gpt2_explorer::Tokenizer::from_dir(&dir).unwrap();
    assert_eq!(a["text"].as_str().unwrap(), tok.decode(&gen).unwrap());
    // The same seed gives the same text; another seed another text.
    let b = generate(
        &sb,
        &dir,
        &["--temperature", "0.8", "--seed", "1", "--max-new-tokens", "30"],
    );
    assert_eq!(a, b);
    let c = generate(
        &sb,
        &dir,
        &["--temperature", "0.8", "--seed", "2", "--max-new-tokens", "30"],
    );
    assert_ne!(
        a["generated_ids"], c["generated_ids"],
        "seeds 1 and 2 gave the same 30 tokens"
    );
    // The plain form prints the prompt and its continuation.
    let out = sb.run(&[
        "generate",
        "--temperature",
        "0.8",
        "--seed",
        "1",
        "--max-new-tokens",
        "30",
        "--model",
        p(&dir),
        "Hello world!",
    ]);
    assert_eq!(stdout(&out), format!("Hello world!{}\n", a["text"].as_str().unwrap()));
}

#[test]
fn temperature_zero_is_greedy() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let a = generate(
        &sb,
        &dir,
        &["--temperature", "0", "--seed", "1", "--max-new-tokens", "12"],
    );
    let b = generate(
        &sb,
        &dir,
        &["--temperature", "0", "--seed", "99", "--max-new-tokens", "12"],
    );
    let c = generate(&sb, &dir, &["--max-new-tokens", "12"]); // the default temperature is 0
    assert_eq!(a["generated_ids"], b["generated_ids"]);
    assert_eq!(a["generated_ids"], c["generated_ids"]);
    // Each token is the argmax of the full (uncached) forward pass over everything before it.
    let lm = gpt2_explorer::LoadedModel::load(p(&dir), true).unwrap();
    let mut seq: Vec<u32> = HELLO_IDS.iter().map(|&x| x as u32).collect();
    for (step, &got) in ids(&a["generated_ids"]).iter().enumerate() {
        let logits = lm.model.logits(&seq).unwrap(); // (T, V)
        let want = logits.get(-1).argmax(0, false).int64_value(&[]) as u32;
        assert_eq!(got, want, "step {step}: generated {got}, argmax {want}");
        seq.push(got);
    }
}

#[test]
fn a_closed_stdout_is_not_a_panic() {
    let sb = Sandbox::new();
    let dir = sb.synthetic_small("m");
    let long = words(5000);
    let mut child = sb
        .command(&["tokens", "--model", p(&dir), &long])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before the first line is written
    let out = child.wait_with_output().unwrap();
    let err = common::stderr(&out);
    assert!(!err.contains("panicked"), "{err}");
    assert!(
        out.status.success(),
        "a closed pipe should end the program quietly: {:?} {err}",
        out.status
    );
}

/// `figures list | head -5`: the reader goes away; the binary ends quietly (status 0,
/// nothing on stderr) instead of panicking with "failed printing to stdout: Broken
/// pipe". The pipe's read end is closed before the binary starts, so every write fails.
#[test]
fn figures_list_into_a_closed_pipe_ends_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_figures"))
        .arg("list")
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {:?}, stderr: {err}", out.status);
    assert!(err.is_empty(), "stderr: {err}");
}

/// The library's messages name settings, not flags; the command line tells them in its
/// flag names (gpt2_explorer::cli), with any context kept.
#[test]
fn library_errors_are_told_in_the_flag_names() {
    use gpt2_explorer::Error;
    let lib = Error::BadTopK { k: 0, vocab: 50257 };
    assert!(!lib.to_string().contains("--"), "{lib}");
    let e = anyhow::Error::from(lib).context("next-word table");
    assert_eq!(
        gpt2_explorer::cli::message(&e),
        "next-word table: --top must be between 1 and the vocabulary size 50257, got 0"
    );
    let e = anyhow::Error::from(Error::CudaNotBuilt { asked: "cuda".into() });
    let m = gpt2_explorer::cli::message(&e);
    assert!(
        m.starts_with("--device cuda: this build has no GPU support") && m.ends_with("or use --device cpu"),
        "{m}"
    );
    let lib = Error::MultiToken {
        word: "alligator".into(),
        n: 3,
        tokens: "…".into(),
    };
    assert!(!lib.to_string().contains("--multi-token"));
    assert!(gpt2_explorer::cli::message(&anyhow::Error::from(lib)).contains("--multi-token first"));
}
