//! The review server: roles over HTML and JSON, sessions, sign-in limits,
//! and a short session secret refused at start.

use super::*;

/// What a role may not see never leaves the server (HTML or JSON); sessions
/// are Secure, end on sign-out, and sign-in locks out after repeated
/// failures; a short session secret is refused at start.
#[test]
fn review_page_roles_sessions_and_secrets() {
    use crate::review_page::{enqueue, users, HANK, REVIEW_SECRET, RITA};
    use panelflow::review::auth::{AuthError, Authenticator};
    use panelflow::review::server::{spawn, ReviewApp};
    use panelflow_connectors::lever::client::{ClientOptions, LeverAuth, LeverClient};
    use panelflow_connectors::store::queue::ReviewQueue;

    let dir = tempfile::tempdir().unwrap();
    let lever = support::dataset_lever(&dir.path().join("lever"));
    let mut cfg = PipelineConfig::default();
    cfg.pipeline.phase = panelflow_core::writeback::Phase::Review;
    cfg.pipeline.version = "7".into();
    cfg.review.queue_dir = dir.path().join("review");
    cfg.review.aggregates_dir = dir.path().join("aggregates");
    cfg.governance.audit_dir = dir.path().join("audit");
    cfg.review.users = users();
    cfg.writeback.tags = vec![panelflow_core::writeback::TagRule {
        tag: "ai:strong-technical".into(),
        min_overall: Some(1.0),
        ..Default::default()
    }];
    assert!(cfg.review.secure_cookie, "Secure by default");
    let queue = ReviewQueue::open(&cfg.review.queue_dir).unwrap();
    let a = support::interview("swe-01");
    let edited = enqueue(
        &cfg,
        &queue,
        "generic:sec-edited",
        &a.candidate_id,
        &a.opportunity_id,
    );

    // A short secret is refused (with it, anyone holding a cookie could
    // forge an admin's session offline) — by the library and by `serve`.
    let short = Authenticator::new(&cfg.review, b"tooshort".to_vec());
    assert!(matches!(short, Err(AuthError::WeakSecret(8))));
    let config_file = dir.path().join("review.toml");
    let mut file_cfg = cfg.clone();
    for u in &mut file_cfg.review.users {
        u.token_hash = None;
        u.token_env = Some(format!("PANELFLOW_SEC_TOKEN_{}", u.name.to_uppercase()));
    }
    std::fs::write(&config_file, toml::to_string(&file_cfg).unwrap()).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_panelflow"))
        .args(["serve", "--listen", "127.0.0.1:0", "--config"])
        .arg(&config_file)
        .env("PANELFLOW_REVIEW_SECRET", "hunter2")
        .env("PANELFLOW_SEC_TOKEN_RITA", RITA)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success(),
        "serve started with a short secret: {err}"
    );
    assert!(err.contains("at least 32"), "{err}");

    let auth = Authenticator::new(&cfg.review, REVIEW_SECRET.to_vec()).unwrap();
    let client = LeverClient::new(
        &lever.base_url(),
        LeverAuth::ApiKey(support::LEVER_KEY.into()),
        ClientOptions::default(),
    )
    .unwrap();
    let app = ReviewApp::new(cfg.clone(), auth, Some(client)).unwrap();
    let server = spawn(app, "127.0.0.1:0".parse().unwrap()).unwrap();
    let base = server.url();
    let http = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let api = |id: &str| {
        format!(
            "{base}/api/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };
    let page = |id: &str| {
        format!(
            "{base}/interviews/{}",
            panelflow::review::page::path_segment(id)
        )
    };

    // Rita edits the note (and so approves it); it is written to Lever.
    const EDITED: &str = "Edited by Rita: strong hire, confidential remark 7731.";
    let r = http
        .post(format!("{}/edit", page(&edited.interview_id)))
        .bearer_auth(RITA)
        .header("accept", "application/json")
        .form(&[("note", EDITED)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().unwrap_or_default());

    // Rita sees the note she wrote; Hank (hiring manager: no scores) sees
    // neither it, nor scores, tags, scorecard, write report or calibration.
    let rita_view = http
        .get(api(&edited.interview_id))
        .bearer_auth(RITA)
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(
        rita_view.contains("confidential remark 7731"),
        "{rita_view}"
    );
    for (url, what) in [
        (api(&edited.interview_id), "JSON"),
        (page(&edited.interview_id), "HTML"),
        (format!("{base}/api/queue"), "queue JSON"),
        (format!("{base}/queue"), "queue HTML"),
    ] {
        let r = http.get(&url).bearer_auth(HANK).send().unwrap();
        assert_eq!(r.status(), 200, "{what}");
        let body = r.text().unwrap();
        for leak in [
            "confidential remark 7731",
            "\"edited_note\"",
            "\"scores\"",
            "overall_score",
            "ai:strong-technical",
            "\"scorecard\"",
            "\"calibration\"",
            "tags_added",
        ] {
            assert!(
                !body.contains(leak),
                "{what} to a hiring manager holds {leak}: {body}"
            );
        }
    }

    // The CSP plays only this interview's own media origin.
    let r = http
        .get(page(&edited.interview_id))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    let csp = header(&r, "content-security-policy");
    assert!(csp.contains("media-src http://127.0.0.1:9;"), "{csp}");
    assert!(!csp.contains("media-src http: https:"), "{csp}");
    let r = http
        .get(format!("{base}/queue"))
        .bearer_auth(RITA)
        .send()
        .unwrap();
    assert!(header(&r, "content-security-policy").contains("media-src 'none'"));

    // Sign-in: a Secure, HttpOnly, SameSite=Strict cookie.
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", RITA)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    let set = header(&r, "set-cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Strict"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_string();
    let with_cookie = |url: &str| http.get(url).header("cookie", &cookie).send().unwrap();
    assert_eq!(with_cookie(&format!("{base}/api/queue")).status(), 200);
    // Signing out ends it on the server: the same cookie, replayed, is refused.
    let html = with_cookie(&format!("{base}/queue")).text().unwrap();
    let at = html.find("name=\"csrf\" value=\"").unwrap() + "name=\"csrf\" value=\"".len();
    let csrf = html[at..].split('"').next().unwrap().to_string();
    let r = http
        .post(format!("{base}/logout"))
        .header("cookie", &cookie)
        .form(&[("csrf", csrf.as_str())])
        .send()
        .unwrap();
    assert_eq!(r.status(), 303);
    assert_eq!(with_cookie(&format!("{base}/api/queue")).status(), 401);

    // Repeated failures lock the address out, even for a good token then.
    for _ in 0..panelflow::review::auth::MAX_FAILURES {
        let r = http
            .post(format!("{base}/login"))
            .form(&[("token", "guess")])
            .send()
            .unwrap();
        assert_eq!(r.status(), 401);
    }
    let r = http
        .post(format!("{base}/login"))
        .form(&[("token", RITA)])
        .send()
        .unwrap();
    assert_eq!(r.status(), 429);
    assert!(!header(&r, "retry-after").is_empty());
    let r = http
        .get(format!("{base}/api/queue"))
        .bearer_auth("guess")
        .send()
        .unwrap();
    assert_eq!(r.status(), 429, "bearer guesses are locked out too");
    server.stop();
    drop(lever);
}

// ---------------------------------------------------------------------------
// PII in logs and Parquet
