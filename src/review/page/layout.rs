//! The page around every view: stylesheet, script, header and sign-out,
//! the sign-in and message pages, and small fragments shared by the views.

use std::fmt::Write as _;

use serde_json::Value;

use super::escape::esc;
use crate::review::auth::Principal;

const STYLE: &str = r#"
body{font-family:system-ui,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:.6rem 1.2rem;display:flex;gap:1rem;align-items:center}
header a{color:#fff}header .who{margin-left:auto}
main{padding:1rem 1.5rem;max-width:70rem}
table{border-collapse:collapse;width:100%;background:#fff;margin:.5rem 0 1.2rem}
th,td{border:1px solid #d8dce3;padding:.35rem .5rem;text-align:left;vertical-align:top}
th{background:#eef0f4}
section{background:#fff;border:1px solid #d8dce3;padding:.6rem 1rem;margin:.8rem 0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.6rem;background:#dde3ee}
.pending{background:#ffe9a8}.written{background:#c9f0cf}.rejected{background:#f6c9c9}
.write_failed{background:#f6b0a0}.approved{background:#cde2ff}
.error{color:#a11}.muted{color:#667}
textarea{width:100%;min-height:12rem;font:inherit}
button{font:inherit;padding:.3rem .8rem;cursor:pointer}
.seek{font-family:ui-monospace,monospace;padding:.05rem .4rem}
pre{white-space:pre-wrap}
form.inline{display:inline}
"#;

const SCRIPT: &str = r#"(function(){
var p=document.getElementById('player');
if(!p)return;
document.addEventListener('click',function(e){
 var b=e.target.closest('button.seek');if(!b)return;
 e.preventDefault();
 var src=b.getAttribute('data-src');var t=parseFloat(b.getAttribute('data-t'))||0;
 var go=function(){try{p.currentTime=t;}catch(x){}p.setAttribute('data-seeked',String(t));var r=p.play();if(r&&r.catch)r.catch(function(){});};
 if(src&&p.getAttribute('src')!==src){p.setAttribute('src',src);p.load();p.addEventListener('loadedmetadata',go,{once:true});p.setAttribute('data-seeked',String(t));}
 else{go();}
});
})();"#;

/// The page's stylesheet (served at `/static/review.css`).
pub fn stylesheet() -> &'static str {
    STYLE
}

/// The page's script (served at `/static/review.js`): timestamps seek the player.
pub fn script() -> &'static str {
    SCRIPT
}

/// A whole page around `body`.
pub fn layout(title: &str, who: Option<(&Principal, &str)>, body: &str) -> String {
    let mut h = String::with_capacity(body.len() + 1024);
    let _ = write!(
        h,
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{} — panelflow review</title>\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <link rel=\"stylesheet\" href=\"/static/review.css\"></head><body><header><strong>panelflow review</strong>",
        esc(title)
    );
    if let Some((p, csrf)) = who {
        let _ = write!(
            h,
            "<a href=\"/queue\">Queue</a><span class=\"who\" id=\"who\">{} ({})</span>\
             <form class=\"inline\" method=\"post\" action=\"/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <button type=\"submit\" id=\"sign-out\">Sign out</button></form>",
            esc(&p.name),
            esc(p.role.as_str()),
            esc(csrf)
        );
    }
    let _ = write!(
        h,
        "</header><main>{body}</main><script src=\"/static/review.js\"></script></body></html>"
    );
    h
}

/// The sign-in form, with an optional message.
pub fn login_page(message: Option<&str>) -> String {
    let msg = message
        .map(|m| format!("<p class=\"error\" id=\"message\">{}</p>", esc(m)))
        .unwrap_or_default();
    layout(
        "Sign in",
        None,
        &format!(
            "<h1>Sign in</h1>{msg}<form method=\"post\" action=\"/login\">\
             <label for=\"token\">Access token</label> \
             <input type=\"password\" id=\"token\" name=\"token\" autocomplete=\"current-password\" required> \
             <button type=\"submit\" id=\"sign-in\">Sign in</button></form>"
        ),
    )
}

/// A page with one message (errors, refusals).
pub fn message_page(title: &str, message: &str, who: Option<(&Principal, &str)>) -> String {
    layout(
        title,
        who,
        &format!(
            "<h1>{}</h1><p class=\"error\" id=\"message\">{}</p><p><a href=\"/queue\">Back to the queue</a></p>",
            esc(title),
            esc(message)
        ),
    )
}

pub(super) fn s<'a>(v: &'a Value, key: &str) -> &'a str {
    v.get(key).and_then(Value::as_str).unwrap_or("")
}

pub(super) fn status_badge(status: &str) -> String {
    format!(
        "<span class=\"badge {0}\" data-status=\"{0}\">{1}</span>",
        esc(status),
        esc(&status.replace('_', " "))
    )
}

pub(super) fn posting_label(v: &Value) -> String {
    let title = s(v, "posting_title");
    let id = s(v, "posting_id");
    match (title.is_empty(), id.is_empty()) {
        (false, _) => title.to_owned(),
        (true, false) => id.to_owned(),
        _ => "—".to_owned(),
    }
}
