//! The section-6 subcommands end to end: `attention` (text, --json, --csv) and `embed`,
//! and their bad input (a block or head out of range, a word of several tokens,
//! conflicting flags), each ending in exactly one `error:` line naming the fix.

mod common;

use common::{assert_one_line_error, json_ok, stdout, Sandbox};

#[test]
fn attention_json_rows_sum_to_one_and_are_causal() {
    let sb = Sandbox::new();
    let m = sb.synthetic_small("m");
    let m = m.to_str().unwrap();
    let v = json_ok(&sb.run(&[
        "attention",
        "--model",
        m,
        "--layer",
        "1",
        "--json",
        "hello hello bye bye",
    ]));
    assert_eq!(v["layer"], 1);
    assert_eq!(v["heads"].as_array().unwrap().len(), 4);
    assert_eq!(v["ids"], serde_json::json!([31373, 23748, 33847, 33847]));
    for head in v["patterns"].as_array().unwrap() {
        for (q, row) in head.as_array().unwrap().iter().enumerate() {
            let row: Vec<f64> = row.as_array().unwrap().iter().map(|x| x.as_f64().unwrap()).collect();
            assert!((row.iter().sum::<f64>() - 1.0).abs() < 1e-5, "row {q}: {row:?}");
            assert!(row[q + 1..].iter().all(|&x| x == 0.0), "row {q} looks ahead: {row:?}");
        }
    }
    let one = json_ok(&sb.run(&[
        "attention",
        "--model",
        m,
        "--layer",
        "0",
        "--head",
        "3",
        "--json",
        "hello hello bye bye",
    ]));
    assert_eq!(one["heads"], serde_json::json!([3]));

    let o = sb.run(&[
        "attention",
        "--model",
        m,
        "--layer",
        "0",
        "--head",
        "2",
        "--csv",
        "a b c",
    ]);
    assert!(o.status.success(), "{}", common::stderr(&o));
    let text = stdout(&o);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "head,query_pos,query_token,key_pos,key_token,weight");
    assert_eq!(lines.len(), 1 + 9);

    let o = sb.run(&["attention", "--model", m, "--layer", "0", "hello bye"]);
    assert!(
        o.status.success() && stdout(&o).contains("block 0, head 3"),
        "{}",
        common::stderr(&o)
    );
}

#[test]
fn attention_out_of_range_layer_and_head_name_the_valid_range() {
    let sb = Sandbox::new();
    let m = sb.synthetic_small("m");
    let m = m.to_str().unwrap();
    assert_one_line_error(
        &sb.run(&["attention", "--model", m, "--layer", "2", "hi there"]),
        &["block 2 does not exist", "2 blocks", "0..2"],
    );
    assert_one_line_error(
        &sb.run(&["attention", "--model", m, "--layer", "0", "--head", "4", "hi there"]),
        &["head 4 does not exist", "4 heads", "0..4"],
    );
    assert_one_line_error(&sb.run(&["attention", "--model", m, "--layer", "-1", "hi"]), &["-1"]);
    assert_one_line_error(
        &sb.run(&["attention", "--model", m, "--layer", "0", "--json", "--csv", "hi"]),
        &["--csv"],
    );
    assert_one_line_error(&sb.run(&["attention", "--model", m, "--layer", "0", ""]), &["empty"]);
    assert_one_line_error(&sb.run(&["attention", "--model", m, "hi"]), &["--layer"]);
}

#[test]
fn embed_single_tokens_and_the_several_token_rule() {
    let sb = Sandbox::new();
    let m = sb.synthetic_small("m");
    let m = m.to_str().unwrap();
    let v = json_ok(&sb.run(&["embed", "--model", m, "--json", " hello", " bye"]));
    let words = v["words"].as_array().unwrap();
    assert_eq!(words.len(), 2);
    assert_eq!(words[0]["ids"], serde_json::json!([23748]));
    assert_eq!(words[1]["ids"], serde_json::json!([33847]));
    assert_eq!(words[0]["vector"].as_array().unwrap().len(), 64);

    let line = assert_one_line_error(
        &sb.run(&["embed", "--model", m, " hello", " alligator"]),
        &["alligator", "tokens", "--multi-token"],
    );
    assert!(line.contains("first") && line.contains("mean"), "{line}");
    let first = json_ok(&sb.run(&["embed", "--model", m, "--json", "--multi-token", "first", " alligator"]));
    let mean = json_ok(&sb.run(&["embed", "--model", m, "--json", "--multi-token", "mean", " alligator"]));
    assert_eq!(first["words"][0]["how"], "first token");
    assert!(mean["words"][0]["how"].as_str().unwrap().starts_with("mean of"));
    assert_ne!(first["words"][0]["vector"], mean["words"][0]["vector"]);

    let o = sb.run(&["embed", "--model", m, "--csv", " hello"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(text.starts_with("word,ids,tokens,how,e0,"), "{text}");
    assert_eq!(text.lines().count(), 2);

    assert_one_line_error(&sb.run(&["embed", "--model", m]), &["word"]);
    assert_one_line_error(
        &sb.run(&["embed", "--model", m, "--multi-token", "sum", "x"]),
        &["--multi-token"],
    );
}
