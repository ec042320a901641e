//! One self-contained HTML file (no network): per scenario the transaction graph as SVG
//! (boxes, spends as arrows, refused attempts dashed with Bitcoin Core's reason), a block
//! timeline with the steps, the trust table with grades (`explain`), and attacker odds for
//! SPV pegs. A small script checks the page against the numbers embedded in it, so a browser
//! can tell a broken page from a good one (`data-checked` on `<body>`).

use std::fmt::Write;

use peglab_sim::{
    relay::store::attacker_success,
    run::{Report, Verdict},
    scenario::Scenario,
    trust::{PegTrust, explain},
};
use serde_json::json;

fn esc(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2em;color:#222}\
h2{border-bottom:1px solid #ccc}table{border-collapse:collapse;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:.25em .5em;font-size:90%;vertical-align:top;max-width:40em;overflow-wrap:anywhere}\
tr.step td:nth-child(3){min-width:18em}\
.pass{color:#1a7f37}.fail{color:#c62828}.declared{color:#6a4c93}\
svg text{font-size:11px;font-family:monospace}";

/// The page for scenarios that ran (`reports`, each with its scenario when known).
pub(crate) fn page(runs: &[(&Report, Option<&Scenario>)], explained: &[&Scenario]) -> String {
    let mut body = String::new();
    let passed = runs.iter().filter(|(r, _)| r.passed).count();
    let _ = write!(
        body,
        "<h1>peglab report</h1><p id=\"summary\">{} scenario(s) run, {passed} passed</p>",
        runs.len()
    );
    let mut summary = Vec::new();
    for (report, scenario) in runs {
        let trust = scenario.map(explain).unwrap_or_default();
        summary.push(json!({
            "file": report.file,
            "steps": report.steps.len(),
            "txs": report.steps.iter().map(|s| s.transactions.len()).sum::<usize>(),
            "passed": report.passed,
            "pegs": trust.len(),
        }));
        body.push_str(&section(report, &trust, scenario.map(peglab_sim::derive::derive)));
    }
    for scenario in explained {
        let trust = explain(scenario);
        let _ = write!(
            body,
            "<section class=\"explained\" data-pegs=\"{}\"><h2>{} <small>({})</small></h2>",
            trust.len(),
            esc(&scenario.name),
            esc(&scenario.file)
        );
        body.push_str(&trust_table(&trust));
        body.push_str("</section>");
    }
    let data = serde_json::to_string(&summary).unwrap_or_default().replace("</", "<\\/");
    format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>peglab report</title><style>{STYLE}</style></head>\
<body data-checked=\"no\">{body}<script id=\"data\" type=\"application/json\">{data}</script><script>{CHECK}</script></body></html>"
    )
}

/// Checks the rendered page against the embedded numbers.
const CHECK: &str = "(function(){var d=JSON.parse(document.getElementById('data').textContent);\
var s=document.querySelectorAll('section.scenario');var ok=s.length===d.length;\
for(var i=0;ok&&i<d.length;i++){var e=s[i];ok=e.dataset.file===d[i].file&&\
e.querySelectorAll('tr.step').length===d[i].steps&&e.querySelectorAll('g.tx').length===d[i].txs&&\
e.querySelectorAll('tr.class').length>=d[i].pegs;}\
document.body.dataset.checked=ok?'ok':'mismatch';})();";

fn section(report: &Report, trust: &[PegTrust], derived: Option<serde_json::Value>) -> String {
    let mut out = String::new();
    let (word, class) = if report.passed { ("PASS", "pass") } else { ("FAIL", "fail") };
    let _ = write!(
        out,
        "<section class=\"scenario\" data-file=\"{}\"><h2><span class=\"{class}\">{word}</span> {} <small>({})</small></h2>",
        esc(&report.file),
        esc(&report.name),
        esc(&report.file)
    );
    if let Some(error) = report.error.as_ref().or(report.bug.as_ref()) {
        let _ = write!(out, "<p class=\"fail\">{}</p>", esc(error));
    }
    out.push_str("<h3>Transactions</h3>");
    out.push_str(&graph(report));
    out.push_str("<h3>Timeline</h3>");
    out.push_str(&timeline(report));
    out.push_str("<h3>Trust</h3>");
    out.push_str(&trust_table(trust));
    if let Some(derived) = derived {
        for peg in derived["pegs"].as_array().into_iter().flatten() {
            if let Some(k) = peg["k"].as_u64() {
                out.push_str(&odds(peg["name"].as_str().unwrap_or_default(), k as u32));
            }
        }
    }
    out.push_str("</section>");
    out
}

fn verdict_of(step: &peglab_sim::run::StepReport) -> (bool, String) {
    match &step.verdict {
        Some(Verdict::BitcoinCore { said }) => {
            (said == "accepted", format!("Bitcoin Core: {said}"))
        }
        Some(Verdict::Model { code, why }) => (code == "accepted", format!("model: {code} {why}")),
        Some(Verdict::Stalled { code, why }) => (false, format!("stalled: {code} {why}")),
        None => (true, String::new()),
    }
}

fn graph(report: &Report) -> String {
    struct Node {
        txid: String,
        x: u32,
        y: u32,
    }
    let mut nodes: Vec<Node> = Vec::new();
    let mut boxes = String::new();
    let mut edges = String::new();
    let mut col = 0;
    for step in &report.steps {
        if step.transactions.is_empty() {
            continue;
        }
        let (accepted, said) = verdict_of(step);
        for (row, tx) in step.transactions.iter().enumerate() {
            let (x, y) = (10 + col * 180, 10 + row as u32 * 56);
            let (stroke, dash) =
                if accepted { ("#1a7f37", "") } else { ("#c62828", " stroke-dasharray=\"5,3\"") };
            for spent in &tx.spends {
                let txid = spent.split(':').next().unwrap_or_default();
                if let Some(from) = nodes.iter().find(|n| n.txid == txid) {
                    let _ = write!(
                        edges,
                        "<line x1=\"{}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"{stroke}\"{dash} marker-end=\"url(#arrow)\"/>",
                        from.x + 150,
                        from.y + 20,
                        y + 20
                    );
                }
            }
            let name: String = tx.name.chars().take(20).collect();
            let _ = write!(
                boxes,
                "<g class=\"tx\"><title>{} {}\n{}</title><rect x=\"{x}\" y=\"{y}\" width=\"150\" height=\"40\" rx=\"4\" fill=\"#fff\" stroke=\"{stroke}\"{dash}/>\
<text x=\"{}\" y=\"{}\">{}</text><text x=\"{}\" y=\"{}\">step {} · {} vB</text></g>",
                esc(&tx.name),
                esc(&tx.txid),
                esc(&said),
                x + 6,
                y + 16,
                esc(&name),
                x + 6,
                y + 32,
                step.index,
                tx.vsize
            );
            nodes.push(Node { txid: tx.txid.clone(), x, y });
        }
        col += 1;
    }
    let rows = report.steps.iter().map(|s| s.transactions.len()).max().unwrap_or(0).max(1) as u32;
    format!(
        "<svg width=\"{}\" height=\"{}\" role=\"img\"><defs><marker id=\"arrow\" markerWidth=\"8\" markerHeight=\"8\" refX=\"8\" refY=\"4\" orient=\"auto\"><path d=\"M0,0 L8,4 L0,8 z\" fill=\"#555\"/></marker></defs>{edges}{boxes}</svg>",
        20 + col.max(1) * 180,
        20 + rows * 56
    )
}

fn timeline(report: &Report) -> String {
    let mut out = String::from(
        "<table><tr><th>step</th><th>height</th><th>what</th><th>who judged</th><th>expected</th></tr>",
    );
    for step in &report.steps {
        let (_, said) = verdict_of(step);
        let expectations: Vec<String> = step
            .expectations
            .iter()
            .map(|e| {
                let class = if e.held { "pass" } else { "fail" };
                format!("<div class=\"{class}\">{} — {}</div>", esc(&e.expected), esc(&e.actual))
            })
            .collect();
        let _ = write!(
            out,
            "<tr class=\"step\"><td>{}</td><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td></tr>",
            step.index,
            step.height.map(|h| h.to_string()).unwrap_or_default(),
            esc(&step.action),
            step.note.as_ref().map(|n| format!("<br><i>{}</i>", esc(n))).unwrap_or_default(),
            esc(&said),
            expectations.join("")
        );
    }
    out.push_str("</table>");
    out
}

fn trust_table(trust: &[PegTrust]) -> String {
    let mut out = String::new();
    for peg in trust {
        let _ = write!(
            out,
            "<h4>{} ({})</h4><table><tr><th>coins</th><th>steal</th><th>freeze</th><th>exit</th><th>recovery</th><th>scripts read back</th></tr>",
            esc(&peg.peg),
            peg.kind
        );
        for c in &peg.classes {
            let steal: Vec<String> = c
                .steal
                .iter()
                .map(|w| {
                    format!("{} ({} signers; delay {})", w.holders.join(" + "), w.signers, w.delay)
                })
                .collect();
            let freeze = c
                .freeze
                .as_ref()
                .map(|w| format!("{} ({} signers)", w.holders.join(" + "), w.signers))
                .unwrap_or_else(|| "—".into());
            let exit = c
                .exit
                .as_ref()
                .map(|w| match w.delay.as_str() {
                    "none" => format!("{} at any time", w.holders.join(" + ")),
                    delay => format!("{} after {delay}", w.holders.join(" + ")),
                })
                .unwrap_or_else(|| "none".into());
            let recovery: Vec<String> = c
                .recovery
                .iter()
                .map(|w| format!("{} after {}", w.holders.join(" + "), w.delay))
                .collect();
            let _ = write!(
                out,
                "<tr class=\"class\"><td>{} [{}]</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(&c.coins),
                c.kind,
                esc(&if steal.is_empty() {
                    "nobody without the owner".into()
                } else {
                    steal.join("<br>")
                })
                .replace("&lt;br&gt;", "<br>"),
                esc(&freeze),
                esc(&exit),
                esc(&recovery.join("; ")),
                match c.read_back {
                    Some(true) => "as stated",
                    Some(false) => "NOT as stated",
                    None => "not recognized",
                }
            );
        }
        out.push_str("</table>");
        for g in &peg.groups {
            let _ = write!(
                out,
                "<p class=\"declared\">declared: {} is {} of {} ({}); the script shows one key</p>",
                esc(&g.holder),
                g.threshold,
                g.members,
                esc(&g.scheme)
            );
        }
        for d in &peg.declared {
            let _ = write!(out, "<p class=\"declared\">declared: {}</p>", esc(d));
        }
        let _ = write!(
            out,
            "<p>BitcoinLayers-style custody: <b>{}</b> — {}</p>",
            esc(peg.custody.grade),
            esc(&peg.custody.why)
        );
        if let Some(c) = &peg.committee {
            let _ = write!(
                out,
                "<p>L2BEAT-style committee (an analogy): <b>{}</b> — {}</p>",
                esc(c.grade),
                esc(&c.why)
            );
        }
    }
    out
}

fn odds(peg: &str, k: u32) -> String {
    let shares = [0.1, 0.2, 0.3, 0.45];
    let mut depths: Vec<u32> = vec![1, 2, 3, 6];
    if !depths.contains(&k) {
        depths.push(k);
        depths.sort_unstable();
    }
    let mut out = format!(
        "<h4>Attacker odds for {} (relay k = {k}; Nakamoto §11)</h4><table class=\"odds\"><tr><th>hashrate share \\ blocks behind</th>",
        esc(peg)
    );
    for z in &depths {
        let _ = write!(out, "<th>{z}</th>");
    }
    out.push_str("</tr>");
    for q in shares {
        let _ = write!(out, "<tr><td>{q}</td>");
        for z in &depths {
            let _ = write!(out, "<td>{:.4}</td>", attacker_success(q, *z));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
    out
}
