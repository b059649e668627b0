//! A cookie-keeping HTTP client that walks the browser flows as a browser
//! would (no JavaScript: it submits the auto-POST form itself), and the
//! settings that point idbroker at the test OpenLDAP started by scripts/test.sh.
use crate::helpers::*;
use reqwest::cookie::Jar;
use std::sync::Arc;

/// A setting of a test directory, from the environment scripts/test.sh sets.
pub fn directory_env(name: &str, how: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: these tests need {how}"))
}

/// The test OpenLDAP's settings.
pub fn openldap_toml(directory_extra: &str, idp_extra: &str) -> String {
    let how = "the test OpenLDAP; run scripts/test.sh, or start scripts/openldap.sh, seed tests/fixtures/openldap-seed.ldif and eval its env";
    let var = |name: &str| directory_env(name, how);
    // StartTLS unless a test says otherwise: the CA bundle is for TLS.
    let tls = if directory_extra.contains("starttls") { "" } else { "starttls = true\n" };
    format!(
        "[directory]\nurl = \"{}\"\nbind_dn = \"{}\"\nbind_password = \"{}\"\nuser_base_dn = \"{}\"\ngroup_base_dn = \"{}\"\nca_file = \"{}\"\n{tls}{directory_extra}\n[idp]\n{idp_extra}\n",
        var("OPENLDAP_URL"),
        var("OPENLDAP_SERVICE_DN"),
        var("OPENLDAP_SERVICE_PASSWORD"),
        var("OPENLDAP_PEOPLE_DN"),
        var("OPENLDAP_GROUPS_DN"),
        var("OPENLDAP_CA_CERT"),
    )
}

pub const TRUST_IDBROKER: &str = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":"arn:aws:iam::111122223333:saml-provider/idbroker"},"Action":["sts:AssumeRoleWithSAML","sts:TagSession"]}]}"#;

/// An app on the test OpenLDAP with the roles the seeded groups name.
pub async fn directory_app(directory_extra: &str, idp_extra: &str) -> TestApp {
    directory_app_serving("", directory_extra, idp_extra).await
}

/// As `directory_app`, with keys added to the server section.
pub async fn directory_app_serving(server_extra: &str, directory_extra: &str, idp_extra: &str) -> TestApp {
    let toml = format!("[server]\n{server_extra}\n{}", openldap_toml(directory_extra, idp_extra));
    let app = spawn_app_with(&toml).await;
    for role in ["Dev", "Admin", "Paren", "Injected", "Bulk"] {
        app.admin(&[
            ("Action", "CreateRole"),
            ("RoleName", role),
            ("AssumeRolePolicyDocument", TRUST_IDBROKER),
        ])
        .await
        .ok();
    }
    app
}

pub struct Page {
    pub status: u16,
    pub location: Option<String>,
    pub headers: reqwest::header::HeaderMap,
    pub body: String,
}

pub fn html_unescape(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(';').unwrap_or(0);
        let entity = &tail[1..end.max(1)];
        let c = match entity {
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "quot" => Some('"'),
            "apos" => Some('\''),
            e if e.starts_with("#x") => u32::from_str_radix(&e[2..], 16).ok().and_then(char::from_u32),
            e if e.starts_with('#') => e[1..].parse().ok().and_then(char::from_u32),
            _ => None,
        };
        match c {
            Some(c) if end > 0 => {
                out.push(c);
                rest = &tail[end + 1..];
            }
            _ => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

impl Page {
    /// The value of the named input.
    pub fn field(&self, name: &str) -> Option<String> {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self.body.find(&marker)? + marker.len();
        let end = self.body[start..].find('"')? + start;
        Some(html_unescape(&self.body[start..end]))
    }

    /// The text of the element with this id.
    pub fn by_id(&self, id: &str) -> Option<String> {
        let marker = format!("id=\"{id}\"");
        let start = self.body.find(&marker)?;
        let open_end = self.body[start..].find('>')? + start + 1;
        let close = self.body[open_end..].find('<')? + open_end;
        Some(html_unescape(&self.body[open_end..close]))
    }

    pub fn header(&self, name: &str) -> String {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()).map(str::to_owned).collect()
    }
}

pub struct Browser {
    pub client: reqwest::Client,
    pub jar: Arc<Jar>,
    pub base: String,
}

impl Browser {
    pub fn new(app: &TestApp) -> Browser {
        Browser::at(&app.base)
    }

    /// A browser for the node at `base`.
    pub fn at(base: &str) -> Browser {
        Browser::at_with(base, reqwest::header::HeaderMap::new())
    }

    /// A browser whose requests arrive through a proxy that names `address`
    /// as the client (for an app that trusts 127.0.0.1 as a proxy).
    pub fn relayed_from(app: &TestApp, address: &str) -> Browser {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert("x-forwarded-for", address.parse().unwrap());
        Browser::at_with(&app.base, headers)
    }

    fn at_with(base: &str, headers: reqwest::header::HeaderMap) -> Browser {
        let jar = Arc::new(Jar::default());
        let client = reqwest::Client::builder()
            .default_headers(headers)
            .cookie_provider(jar.clone())
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Browser { client, jar, base: base.to_owned() }
    }

    /// Our URL for a path or for a URL under the configured public URL.
    pub fn url(&self, target: &str) -> String {
        match target.strip_prefix("http://127.0.0.1:8080") {
            Some(path) => format!("{}{path}", self.base),
            None if target.starts_with('/') => format!("{}{target}", self.base),
            None => target.to_owned(),
        }
    }

    async fn page(resp: reqwest::Response) -> Page {
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let location = headers.get("location").and_then(|v| v.to_str().ok()).map(str::to_owned);
        Page { status, location, headers, body: resp.text().await.unwrap() }
    }

    pub async fn get(&self, target: &str) -> Page {
        Self::page(self.client.get(self.url(target)).send().await.unwrap()).await
    }

    pub async fn post(&self, target: &str, fields: &[(&str, &str)]) -> Page {
        self.post_with(target, fields, &[]).await
    }

    pub async fn post_with(&self, target: &str, fields: &[(&str, &str)], headers: &[(&str, &str)]) -> Page {
        let mut req = self
            .client
            .post(self.url(target))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(form(fields));
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        Self::page(req.send().await.unwrap()).await
    }

    /// Follows redirects from `page` (as GETs) to the first page that is not one.
    pub async fn follow(&self, mut page: Page) -> Page {
        for _ in 0..10 {
            match (page.status, &page.location) {
                (301 | 302 | 303 | 307, Some(to)) => page = self.get(&to.clone()).await,
                _ => return page,
            }
        }
        panic!("redirect loop");
    }

    /// Drops the built-in IdP's session cookie, as a new browser would have none.
    pub fn forget_idp_session(&self) {
        let url: reqwest::Url = self.base.parse().unwrap();
        self.jar.add_cookie_str("idbroker_idp=; Max-Age=0; Path=/", &url);
    }

    /// Starts SP-initiated sign-in and returns the directory login form (the
    /// IdP session of an earlier sign-in forgotten, so the form is shown).
    pub async fn login_form(&self) -> Page {
        self.forget_idp_session();
        let page = self.follow(self.get("/saml/login").await).await;
        assert_eq!(page.status, 200, "{}", page.body);
        assert!(page.field("csrf").is_some(), "{}", page.body);
        page
    }

    /// Submits the login form; the answer is the auto-POST page on success.
    pub async fn submit_login(&self, form: &Page, username: &str, password: &str) -> Page {
        let csrf = form.field("csrf").unwrap();
        let request = form.field("request").unwrap();
        self.post(
            "/idp/login",
            &[("csrf", &csrf), ("request", &request), ("username", username), ("password", password)],
        )
        .await
    }

    /// Posts an auto-POST page's form to its action, as the page's script would.
    pub async fn auto_post(&self, page: &Page) -> Page {
        let action = {
            let start = page.body.find("action=\"").unwrap() + 8;
            let end = page.body[start..].find('"').unwrap() + start;
            html_unescape(&page.body[start..end])
        };
        let response = page.field("SAMLResponse").expect("an auto-POST page");
        let mut fields = vec![("SAMLResponse", response.as_str())];
        let relay = page.field("RelayState");
        if let Some(r) = &relay {
            fields.push(("RelayState", r));
        }
        self.post(&action, &fields).await
    }

    /// The whole sign-in: login form, password, ACS; returns the page after the ACS's redirects.
    pub async fn sign_in(&self, username: &str, password: &str) -> Page {
        let form = self.login_form().await;
        let posted = self.submit_login(&form, username, password).await;
        assert_eq!(posted.status, 200, "{}", posted.body);
        self.follow(self.auto_post(&posted).await).await
    }

    /// The credentials shown on a console page.
    pub fn credentials(page: &Page) -> Keys {
        Keys {
            id: page.by_id("access-key-id").expect("a console page"),
            secret: page.by_id("secret-access-key").unwrap(),
            token: Some(page.by_id("session-token").unwrap()),
        }
    }
}

/// Why the directory refused `user`, from the newest audit record of it.
pub async fn refusal_reason(app: &TestApp, user: &str) -> String {
    let e = app
        .audit_event(|e| {
            e["eventName"] == "DirectoryLogin"
                && e["userIdentity"]["userName"] == user
                && !e["errorCode"].is_null()
        })
        .await;
    e["additionalEventData"]["reason"].as_str().unwrap_or_default().to_owned()
}
