//! The Docker inventory in a real browser: the local engine is watched, a risky
//! container shows up with its findings, an analyst accepts one of them, and an image
//! pushed to a registry and signed there has its signature checked from its page; the
//! admin adds that registry and finds the image among its tags.

use coastguard_core::testing::docker::{unique, Engine};
use coastguard_core::testing::registry::{cosign_annotations, TestRegistry};
use coastguard_core::testing::signing::{
    simple_signing_payload, trust_root_json, TestCa, TestKey, TestLog,
};
use coastguard_end2end::{
    console_errors, screenshot, wait_for, wait_hydrated, Harness, ADMIN_PASSWORD,
};
use fantoccini::Locator;
use futures::FutureExt;
use std::panic::AssertUnwindSafe;

/// A container with risky settings (a published port, the Docker socket, an added
/// capability) from a busybox image; both removed when dropped.
struct Container {
    name: String,
    /// Removes the container and the images when the test ends.
    engine: Engine,
}

fn risky_container() -> Container {
    let engine = Engine::local();
    let name = unique("e2e");
    let image = format!("{name}:1");
    engine.build(&image, &["CMD [\"sleep\", \"3600\"]"]);
    engine.run(
        &name,
        &[
            "-p",
            "18090:80",
            "-v",
            "/var/run/docker.sock:/var/run/docker.sock",
            "--cap-add",
            "SYS_ADMIN",
            &image,
        ],
    );
    Container { name, engine }
}

#[tokio::test]
#[cfg_attr(
    skip_docker,
    ignore = "COASTGUARD_TEST_SKIP_DOCKER was set when this was built"
)]
async fn the_local_engine_its_containers_and_their_findings() {
    let container = risky_container();
    // An image pushed to a registry on loopback and signed there by a key no one trusts.
    let registry = TestRegistry::open().await;
    let signed = unique("e2esig");
    let repo = format!("shop/{signed}");
    let tag = format!("{}/{repo}:1", registry.host());
    container.engine.build(&tag, &["CMD [\"sleep\", \"3600\"]"]);
    container.engine.docker(&["push", "-q", &tag]);
    // It runs here too, so a signature requirement on it is a finding.
    container.engine.run(&unique("e2esigrun"), &[&tag]);
    let pushed = container.engine.docker(&[
        "image",
        "inspect",
        "--format",
        "{{index .RepoDigests 0}}",
        &tag,
    ]);
    let digest = pushed.rsplit_once('@').unwrap().1.to_string();
    let payload = simple_signing_payload(&format!("{}/{repo}", registry.host()), &digest);
    let signature = cosign_annotations(&TestKey::new().sign(&payload));
    registry
        .attach_cosign(&repo, &digest, &[(payload, signature)])
        .await;
    let harness = &Harness::start("inventory").await;
    let client = harness.browser().await;
    let c = client.clone();
    let outcome = AssertUnwindSafe(async move {
        c.goto(&harness.url("/login")).await.unwrap();
        c.find(Locator::Css("#username"))
            .await
            .unwrap()
            .send_keys("admin")
            .await
            .unwrap();
        c.find(Locator::Css("#password"))
            .await
            .unwrap()
            .send_keys(ADMIN_PASSWORD)
            .await
            .unwrap();
        c.find(Locator::Css("form.login-form button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the overview", || async {
            c.current_url().await.unwrap().path() == "/"
        })
        .await;

        // The local engine was registered and synced on its own.
        wait_for("the local engine to sync", || async {
            c.goto(&harness.url("/hosts")).await.unwrap();
            c.find(Locator::XPath(
                "//td//span[contains(@class,'status-good') and text()='ok']",
            ))
            .await
            .is_ok()
        })
        .await;
        screenshot(&c, "hosts").await;

        c.goto(&harness.url(&format!("/containers?q={}", container.name)))
            .await
            .unwrap();
        let link = c.find(Locator::LinkText(&container.name)).await.unwrap();
        screenshot(&c, "containers").await;
        link.click().await.unwrap();
        // While the page changes there may be no heading for a moment: keep polling.
        wait_for("the container page", || async {
            match c.find(Locator::Css("main h1")).await {
                Ok(h1) => h1
                    .text()
                    .await
                    .is_ok_and(|t| t.starts_with(&container.name)),
                Err(_) => false,
            }
        })
        .await;
        wait_hydrated(&c).await;
        let table = c
            .find(Locator::Css("table.findings-table"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for expected in [
            "Docker socket mounted into the container",
            "Container adds a Linux capability",
            "Port published on every interface",
        ] {
            assert!(table.contains(expected), "{expected} missing from {table}");
        }
        screenshot(&c, "container").await;

        // Accept the capability finding with a reason (the admin is also an analyst).
        let row = c
            .find(Locator::XPath(
                "//tr[.//code[text()='container.capability_added']]",
            ))
            .await
            .unwrap();
        row.find(Locator::Css("summary.btn"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        row.find(Locator::Css("input[name=reason]"))
            .await
            .unwrap()
            .send_keys("Needed for the test")
            .await
            .unwrap();
        row.find(Locator::Css("button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the acceptance", || async {
            match c
                .find(Locator::XPath(
                    "//tr[.//code[text()='container.capability_added']]",
                ))
                .await
            {
                Ok(row) => row
                    .text()
                    .await
                    .unwrap_or_default()
                    .contains("Needed for the test"),
                Err(_) => false,
            }
        })
        .await;
        screenshot(&c, "container-accepted").await;

        c.goto(&harness.url("/findings?severity=critical"))
            .await
            .unwrap();
        let text = c
            .find(Locator::Css("main"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(text.contains("container.docker_socket"), "{text}");
        screenshot(&c, "findings").await;

        // The overview lists open findings by check; a check leads to exactly its findings.
        c.goto(&harness.url("/")).await.unwrap();
        let row = c
            .find(Locator::XPath(
                "//section[@aria-labelledby='checks-heading']//tr[.//code[text()='container.docker_socket']]",
            ))
            .await
            .unwrap();
        let open: usize = row
            .find(Locator::Css("td.num"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(open >= 1);
        screenshot(&c, "overview-checks").await;
        row.find(Locator::Css("a")).await.unwrap().click().await.unwrap();
        wait_for("the findings of that check", || async {
            c.current_url().await.unwrap().query() == Some("check=container.docker_socket")
        })
        .await;
        wait_for("the findings table", || async {
            c.find(Locator::Css("table.findings-table")).await.is_ok()
        })
        .await;
        let checks = c
            .find_all(Locator::Css("table.findings-table tbody tr td:nth-child(2) .small code"))
            .await
            .unwrap();
        let mut ids = Vec::new();
        for code in &checks {
            ids.push(code.text().await.unwrap());
        }
        assert_eq!(ids.len(), open, "{ids:?}");
        assert!(ids.iter().all(|id| id == "container.docker_socket"), "{ids:?}");
        c.goto(&harness.url("/images")).await.unwrap();
        screenshot(&c, "images").await;

        // The signed image's page: not checked yet; "Check now" finds the signature in
        // the registry and says why it is not trusted.
        c.goto(&harness.url(&format!("/images?q={signed}"))).await.unwrap();
        c.find(Locator::XPath(&format!("//a[contains(., '{signed}')]")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the image page", || async {
            c.find(Locator::Css("#signature button[type=submit]"))
                .await
                .is_ok()
        })
        .await;
        wait_hydrated(&c).await;
        c.find(Locator::Css("#signature button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the signature check", || async {
            c.find(Locator::XPath(
                "//section[@id='signature']/p/span[contains(@class,'status') and text()='untrusted']",
            ))
            .await
            .is_ok()
        })
        .await;
        let panel = c
            .find(Locator::Css("#signature"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            panel.contains("cosign key") && panel.contains("no key is configured"),
            "{panel}"
        );
        c.execute(
            "document.getElementById('signature').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
        screenshot(&c, "image-signature").await;

        // The registry that holds it, added by the admin and synced now: the pushed image
        // is listed there, running nowhere, never scanned.
        c.goto(&harness.url("/registries")).await.unwrap();
        wait_for("the add-registry form", || async {
            c.find(Locator::Css("form input[name=url]")).await.is_ok()
        })
        .await;
        wait_hydrated(&c).await;
        for (field, value) in [("name", "loopback"), ("url", registry.host().as_str())] {
            c.find(Locator::Css(&format!("form input[name={field}]")))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        c.find(Locator::Css("select[name=transport] option[value=http]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        c.find(Locator::XPath("//form[.//input[@name='url']]//button[@type='submit']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the registry in the list", || async {
            c.find(Locator::LinkText("loopback")).await.is_ok()
        })
        .await;
        c.find(Locator::Css("button[aria-label='Sync registry loopback now']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the sync's outcome", || async {
            c.find(Locator::XPath("//p[@role='status' and starts-with(., 'Synced loopback')]"))
                .await
                .is_ok()
        })
        .await;
        screenshot(&c, "registries").await;
        c.find(Locator::LinkText("loopback"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the registry's tags", || async {
            c.find(Locator::XPath(&format!("//td/code[text()='{repo}']")))
                .await
                .is_ok()
        })
        .await;
        let row = c
            .find(Locator::XPath(&format!("//tr[td/code[text()='{repo}']]")))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        // Badges are shown in capitals.
        assert!(row.to_lowercase().contains("never scanned"), "{row}");
        let page = c.find(Locator::Css("main")).await.unwrap().text().await.unwrap();
        assert!(!page.contains(".sig"), "a signature tag is no image: {page}");
        screenshot(&c, "registry").await;

        // The admin requires signatures for the shop's images; the running image, signed
        // by no trusted key, is a finding at once. From the overview to it.
        c.goto(&harness.url("/admin/settings")).await.unwrap();
        wait_for("the image policy form", || async {
            c.find(Locator::Css("textarea[name=require_signatures]")).await.is_ok()
        })
        .await;
        wait_hydrated(&c).await;
        c.find(Locator::Css("textarea[name=require_signatures]"))
            .await
            .unwrap()
            .send_keys(&format!("{}/shop/*", registry.host()))
            .await
            .unwrap();
        c.find(Locator::XPath("//form[.//textarea[@name='require_signatures']]//button[@type='submit']"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the policy to be saved", || async {
            c.find(Locator::XPath("//p[starts-with(., 'Saved.')]")).await.is_ok()
        })
        .await;
        c.goto(&harness.url("/")).await.unwrap();
        wait_for("the provenance check on the overview", || async {
            c.find(Locator::XPath(
                "//a[contains(@href, 'check=provenance.signature_required') and contains(., 'no verified signature')]",
            ))
            .await
            .is_ok()
        })
        .await;
        let signed = c.find(Locator::Css("section[aria-labelledby=signed-heading]")).await.unwrap().text().await.unwrap();
        assert!(signed.contains("signed by no trusted key"), "{signed}");
        c.execute(
            "document.getElementById('signed-heading').scrollIntoView()",
            vec![],
        )
        .await
        .unwrap();
        screenshot(&c, "overview-signed").await;
        let link = c
            .find(Locator::XPath(
                "//a[contains(@href, 'check=provenance.signature_required') and contains(., 'no verified signature')]",
            ))
            .await
            .unwrap();
        // Out from under the sticky top bar before clicking.
        c.execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&link).unwrap()],
        )
        .await
        .unwrap();
        link.click().await.unwrap();
        wait_for("the provenance finding", || async {
            c.find(Locator::XPath("//td[contains(@class,'evidence') and contains(., 'no trusted key')]"))
                .await
                .is_ok()
        })
        .await;
        let evidence = c
            .find(Locator::XPath("//td[contains(@class,'evidence') and contains(., 'no trusted key')]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(evidence.contains("/shop/*"), "{evidence}");
        screenshot(&c, "provenance-finding").await;

        // The admin gives a Sigstore trust root and trusts a keyless identity, in the
        // settings' forms.
        let (ca, log) = (TestCa::new("fulcio e2e"), TestLog::new());
        c.goto(&harness.url("/admin/settings")).await.unwrap();
        wait_for("the trust root form", || async {
            c.find(Locator::Css("#set-trust-root textarea[name=trusted_root]")).await.is_ok()
        })
        .await;
        wait_hydrated(&c).await;
        let root = trust_root_json(&[&ca], &[&log]);
        // A long document: set as a value (typing it key by key takes minutes).
        let area = c.find(Locator::Css("#set-trust-root textarea[name=trusted_root]")).await.unwrap();
        c.execute(
            "arguments[0].value = arguments[1]",
            vec![serde_json::to_value(&area).unwrap(), serde_json::Value::String(root)],
        )
        .await
        .unwrap();
        c.find(Locator::Css("#set-trust-root button[type=submit]"))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        wait_for("the trust root's summary", || async {
            c.find(Locator::XPath("//section[@id='trust-root']//p[contains(., 'certificate authorities 1')]"))
                .await
                .is_ok()
        })
        .await;
        c.execute("document.getElementById('trust-root').scrollIntoView()", vec![])
            .await
            .unwrap();
        screenshot(&c, "settings-trust-root").await;
        for (field, value) in [
            ("name", "release workflow"),
            ("identity", r".*@shop\.test"),
            ("issuer", "https://issuer.test.invalid"),
        ] {
            c.find(Locator::Css(&format!("#add-signing-identity [name={field}]")))
                .await
                .unwrap()
                .send_keys(value)
                .await
                .unwrap();
        }
        let submit = c.find(Locator::Css("#add-signing-identity button[type=submit]")).await.unwrap();
        c.execute(
            "arguments[0].scrollIntoView({block: 'center'})",
            vec![serde_json::to_value(&submit).unwrap()],
        )
        .await
        .unwrap();
        submit.click().await.unwrap();
        wait_for("the identity among the trusted signers", || async {
            c.find(Locator::XPath("//section[@id='signing-keys']//tr[td[text()='keyless']]"))
                .await
                .is_ok()
        })
        .await;
        let row = c
            .find(Locator::XPath("//section[@id='signing-keys']//tr[td[text()='keyless']]"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(row.contains("issuer https://issuer.test.invalid"), "{row}");
        c.execute("document.getElementById('signing-keys').scrollIntoView()", vec![])
            .await
            .unwrap();
        screenshot(&c, "settings-trust").await;

        // The host the container runs on shows its own signed share.
        c.goto(&harness.url("/hosts")).await.unwrap();
        wait_for("the hosts", || async {
            c.find(Locator::XPath("//table//a[starts-with(@href, '/hosts/')]")).await.is_ok()
        })
        .await;
        let href = c
            .find(Locator::XPath("//table//a[starts-with(@href, '/hosts/')]"))
            .await
            .unwrap()
            .attr("href")
            .await
            .unwrap()
            .unwrap();
        c.goto(&harness.url(&href)).await.unwrap();
        wait_for("the host's signed share", || async {
            c.find(Locator::XPath("//h2[@id='signed-heading' and contains(., 'on this host')]"))
                .await
                .is_ok()
        })
        .await;
        let signed = c.find(Locator::Css("section[aria-labelledby=signed-heading]")).await.unwrap().text().await.unwrap();
        assert!(signed.contains("running images verified"), "{signed}");
        c.execute(
            "document.getElementById('signed-heading').scrollIntoView({block: 'center'})",
            vec![],
        )
        .await
        .unwrap();
        screenshot(&c, "host-signatures").await;
    })
    .catch_unwind()
    .await;
    let errors = match outcome {
        Ok(()) => console_errors(&client).await,
        Err(_) => Vec::new(),
    };
    let _ = client.close().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    assert!(errors.is_empty(), "console errors: {errors:?}");
}
