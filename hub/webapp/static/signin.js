import { loadLang, t } from "/static/lib.js";

await loadLang();
const form = document.getElementById("signin");
const error = document.getElementById("error");
form.addEventListener("submit", async (ev) => {
  ev.preventDefault();
  error.textContent = "";
  const code = document.getElementById("code").value;
  const label = navigator.userAgent.includes("Mobile") ? "phone" : "browser";
  const res = await fetch("/session", {
    method: "POST", credentials: "same-origin",
    headers: { "Content-Type": "application/json" }, body: JSON.stringify({ code, label }),
  });
  if (res.status === 201) {
    const next = new URLSearchParams(location.search).get("next");
    // only a local path: the sign-in page must not be usable to redirect elsewhere
    location.assign(next && next.startsWith("/") && !next.startsWith("//") ? next : "/");
    return;
  }
  error.textContent = res.status === 429 ? t("signin.toomany") : t("signin.wrong");
});
