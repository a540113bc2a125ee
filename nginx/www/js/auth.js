// auth.js: the sign-in screen: sign in, create an account.
//
// Both answers set quipu's HttpOnly cookies; the page never sees a token.

import { ApiError, post } from "./api.js";
import { $ } from "./dom.js";

let signingUp = false;
let signedIn = () => {};

// onSignedIn(user) runs after a successful sign-in or sign-up.
export function init(onSignedIn) {
	signedIn = onSignedIn;
	$("#auth-form").addEventListener("submit", submit);
	$("#auth-switch").addEventListener("click", () => setMode(!signingUp));
}

// Shows the screen, with `message' (why) when given.
export function show(message) {
	$("#app").hidden = true;
	$("#auth").hidden = false;
	$("#auth-password").value = "";
	$("#auth-display").value = "";
	setMode(false);
	error(message || "");
}

function setMode(up) {
	signingUp = up;
	$("#auth-display-row").hidden = !up;
	$("#auth-hint").hidden = !up;
	$("#auth-submit").textContent = up ? "Create account" : "Sign in";
	$("#auth-switch").textContent = up ? "I have an account" : "Create an account";
	$("#auth-lead").textContent = up ? "Create your account."
	    : "Sign in to your assistant.";
	$("#auth-password").autocomplete = up ? "new-password" : "current-password";
	document.title = `${up ? "Create an account" : "Sign in"} · quipu`;
	error("");
	$("#auth-username").focus();
}

function error(text) {
	$("#auth-error").textContent = text;
	$("#auth-error").hidden = text === "";
}

async function submit(e) {
	e.preventDefault();
	const username = $("#auth-username").value.trim();
	const password = $("#auth-password").value;
	if (username === "" || password === "") {
		error("Enter a username and a password.");
		return;
	}
	const body = { username, password };
	const display = $("#auth-display").value.trim();
	if (signingUp && display !== "")
		body.display_name = display;
	const button = $("#auth-submit");
	button.disabled = true;
	try {
		const r = await post(signingUp ? "/api/v1/auth/register"
		    : "/api/v1/auth/login", body);
		$("#auth-password").value = "";
		signedIn(r.user);
	} catch (err) {
		error(message(err));
		$("#auth-password").focus();
	} finally {
		button.disabled = false;
	}
}

function message(err) {
	if (!(err instanceof ApiError))
		return "Something went wrong. Try again.";
	if (err.status === 0)
		return "quipu cannot be reached. Check the connection.";
	if (err.status === 429)
		return "Too many attempts. Wait a little and try again.";
	if (err.status === 409)
		return "That username is taken. Choose another, or sign in.";
	if (err.details) {
		const names = { username: "Username", password: "Password",
		    display_name: "Display name" };
		return Object.entries(err.details)
		    .map(([k, v]) => `${names[k] || k} ${v}.`).join(" ");
	}
	return err.message.charAt(0).toUpperCase() + err.message.slice(1) + ".";
}
