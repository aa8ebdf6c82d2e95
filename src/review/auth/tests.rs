use std::net::IpAddr;
use std::time::Duration;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;

use super::sessions::SessionPayload;
use super::token::TokenHash;
use super::*;
use crate::review::ReviewSection;

const K: &[u8] = b"a-session-secret-of-at-least-32-b";

fn h(token: &str) -> Option<String> {
    Some(hash_token_with(token, MIN_TOKEN_HASH_ITERATIONS))
}

fn section() -> ReviewSection {
    ReviewSection {
        users: vec![
            ReviewUser {
                name: "rita".into(),
                role: Role::Recruiter,
                groups: vec!["pilot".into()],
                token_hash: h("rita-token"),
                token_sha256: None,
                token_env: None,
            },
            ReviewUser {
                name: "hank".into(),
                role: Role::HiringManager,
                groups: vec![],
                token_hash: h("hank-token"),
                token_sha256: None,
                token_env: None,
            },
        ],
        ..ReviewSection::default()
    }
}

#[test]
fn tokens_sign_in_their_own_user_only() {
    let auth = Authenticator::new(&section(), K.to_vec()).unwrap();
    assert_eq!(auth.by_token("rita-token").unwrap().name, "rita");
    let hank = auth.by_token(" hank-token ").unwrap();
    assert_eq!(hank.role, Role::HiringManager);
    assert!(!hank.policy.see_scores && hank.policy.see_flags && !hank.policy.can_decide);
    assert!(auth.by_token("").is_none());
    assert!(auth.by_token("rita-token2").is_none());
    assert!(auth.by_token(&token_sha256("rita-token")).is_none());
}

#[test]
fn sessions_are_signed_expire_and_name_configured_users() {
    let auth = Authenticator::new(&section(), K.to_vec()).unwrap();
    let rita = auth.by_token("rita-token").unwrap();
    let s = auth.issue_session(&rita);
    let (who, nonce) = auth.verify_session(&s.cookie_value).unwrap();
    assert_eq!(who, rita);
    assert!(auth.check_csrf(&nonce, &s.csrf));
    assert!(!auth.check_csrf(&nonce, "00"));
    assert!(!auth.check_csrf("other-nonce", &s.csrf));
    // Tampered payload (another user) is refused.
    let (body, sig) = s.cookie_value.split_once('.').unwrap();
    let forged = URL_SAFE_NO_PAD.encode(
        String::from_utf8(URL_SAFE_NO_PAD.decode(body).unwrap())
            .unwrap()
            .replace("rita", "hank"),
    );
    assert!(auth.verify_session(&format!("{forged}.{sig}")).is_none());
    assert!(auth.verify_session("garbage").is_none());
    // Another secret does not accept it.
    let other =
        Authenticator::new(&section(), b"another-session-secret-of-32-bytes".to_vec()).unwrap();
    assert!(other.verify_session(&s.cookie_value).is_none());
    // A removed user's session ends.
    let mut fewer = section();
    fewer.users.remove(0);
    let fewer = Authenticator::new(&fewer, K.to_vec()).unwrap();
    assert!(fewer.verify_session(&s.cookie_value).is_none());
    // An expired session is refused.
    let payload = SessionPayload {
        u: "rita".into(),
        iat: 0,
        exp: chrono::Utc::now().timestamp() - 1,
        n: "n".into(),
        k: String::new(),
    };
    let body = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).unwrap());
    let sig = URL_SAFE_NO_PAD.encode(auth.mac("session", &body));
    assert!(auth.verify_session(&format!("{body}.{sig}")).is_none());
}

#[test]
fn bad_user_configs_are_refused() {
    let mut s = section();
    s.users[1].token_hash = Some("abc".into());
    assert!(Authenticator::new(&s, K.to_vec()).is_err());
    // Unsalted hashes and weak ones are refused.
    let mut s = section();
    s.users[1].token_hash = None;
    s.users[1].token_sha256 = Some(token_sha256("hank-token"));
    assert!(Authenticator::new(&s, K.to_vec())
        .unwrap_err()
        .to_string()
        .contains("unsalted"));
    let mut s = section();
    s.users[1].token_hash = Some(hash_token_with("hank-token", 1000));
    assert!(Authenticator::new(&s, K.to_vec())
        .unwrap_err()
        .to_string()
        .contains("iterations"));
    let mut s = section();
    s.users[1].token_hash = None;
    assert!(Authenticator::new(&s, K.to_vec())
        .unwrap_err()
        .to_string()
        .contains("hank"));
    let mut s = section();
    s.users[1].token_hash = None;
    s.users[1].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
    // An unprovisioned user is disabled, the others still sign in.
    let auth = Authenticator::new(&s, K.to_vec()).unwrap();
    assert!(auth.by_token("rita-token").is_some());
    assert!(auth.by_token("hank-token").is_none());
    s.users.truncate(1);
    s.users[0].token_hash = None;
    s.users[0].token_env = Some("PANELFLOW_TEST_SURELY_UNSET_TOKEN".into());
    assert!(
        Authenticator::new(&s, K.to_vec()).is_err(),
        "nobody could sign in"
    );
    let mut s = section();
    s.users[1].name = "rita".into();
    assert!(Authenticator::new(&s, K.to_vec()).is_err());
}

#[test]
fn short_secrets_are_refused() {
    let err = Authenticator::new(&section(), b"short".to_vec()).unwrap_err();
    assert!(matches!(err, AuthError::WeakSecret(5)), "{err}");
    assert!(Authenticator::new(&section(), vec![7; MIN_SECRET_BYTES]).is_ok());
}

#[test]
fn token_hashes_are_salted() {
    let (a, b) = (hash_token_with("t", 100_000), hash_token_with("t", 100_000));
    assert_ne!(a, b, "a fresh salt each time");
    assert!(TokenHash::parse(&a).unwrap().matches("t"));
    assert!(!TokenHash::parse(&a).unwrap().matches("u"));
}

#[test]
fn sessions_are_revoked_by_sign_out_epoch_and_token_change() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join(".review-sessions");
    let auth = Authenticator::new(&section(), K.to_vec())
        .unwrap()
        .with_revocations(&file);
    let rita = auth.by_token("rita-token").unwrap();
    let (one, two) = (auth.issue_session(&rita), auth.issue_session(&rita));
    auth.revoke_session(&one.cookie_value).unwrap();
    assert!(auth.verify_session(&one.cookie_value).is_none());
    assert!(auth.verify_session(&two.cookie_value).is_some());
    // Another server on the same folder sees it too.
    let other = Authenticator::new(&section(), K.to_vec())
        .unwrap()
        .with_revocations(&file);
    assert!(other.verify_session(&one.cookie_value).is_none());
    std::thread::sleep(Duration::from_millis(5));
    auth.revoke_user("rita").unwrap();
    assert!(other.verify_session(&two.cookie_value).is_none());
    // Sessions after the epoch are good; a new token for rita ends
    // the sessions issued with the old one.
    std::thread::sleep(Duration::from_millis(5));
    let four = auth.issue_session(&rita);
    assert!(auth.verify_session(&four.cookie_value).is_some());
    let mut rotated = section();
    rotated.users[0].token_hash = h("rita-new-token");
    let rotated = Authenticator::new(&rotated, K.to_vec()).unwrap();
    assert!(rotated.verify_session(&four.cookie_value).is_none());
}

#[test]
fn repeated_failures_lock_an_address_out() {
    let limiter = SignInLimiter::default();
    let ip: IpAddr = "192.0.2.7".parse().unwrap();
    for _ in 0..MAX_FAILURES - 1 {
        limiter.failed(Some(ip));
        assert!(limiter.check(Some(ip)).is_ok());
    }
    limiter.failed(Some(ip));
    let wait = limiter.check(Some(ip)).unwrap_err();
    assert!(wait > Duration::from_secs(50), "{wait:?}");
    assert!(limiter.check(Some("192.0.2.8".parse().unwrap())).is_ok());
    // Everyone's failures together lock sign-in for all.
    for i in 0..=100u32 {
        limiter.failed(Some(IpAddr::from([
            10,
            0,
            (i / 256) as u8,
            (i % 256) as u8,
        ])));
    }
    assert!(limiter.check(Some("192.0.2.9".parse().unwrap())).is_err());
}

#[test]
fn role_overrides_and_redaction() {
    let review: ReviewSection = toml::from_str(
        "[roles.hiring_manager]\nsee_scores = true\n[roles.recruiter]\nsee_flags = false\n",
    )
    .unwrap();
    assert!(review.roles.policy(Role::HiringManager).see_scores);
    let rec = review.roles.policy(Role::Recruiter);
    assert!(!rec.see_flags && rec.see_scores && rec.can_decide);
    assert!(!review.roles.policy(Role::Auditor).can_decide);
    assert!(toml::from_str::<ReviewSection>("[roles.janitor]\nsee_scores = true\n").is_err());

    let s = serde_json::json!({
        "scores": [{"competency": "craft", "score": 4}], "overall_score": 3.5,
        "flags": [{"name": "long_silences"}], "sentiment": "negative", "sentiment_score": 0.1,
        "highlights": {"strengths": [{"text": "q"}], "red_flags": [{"kind": "no_answer", "text": "t"}]},
        "answers": [{"text": "a", "flags": ["x"], "tone": {"wpm": 1}, "sentiment": {"label": "positive"}}]
    });
    let none = RolePolicy {
        see_scores: false,
        see_flags: false,
        can_decide: false,
    };
    let r = none.redact_summary(&s);
    let text = r.to_string();
    for gone in [
        "scores",
        "overall_score",
        "long_silences",
        "sentiment",
        "red_flags",
        "tone",
    ] {
        assert!(!text.contains(gone), "{gone} left in {text}");
    }
    assert!(
        r["highlights"].get("strengths").is_none(),
        "strengths are scores in words"
    );
    assert_eq!(r["answers"][0]["text"], "a");
    let all = Role::Admin.default_policy();
    assert_eq!(all.redact_summary(&s), s);
    assert!(!none.may_see_reason("flag:negativity_about_employer"));
    assert!(!none.may_see_reason("low_confidence"));
    assert!(!none.may_see_reason("extreme_sentiment"));
    assert!(none.may_see_reason("phase_review"));
}
