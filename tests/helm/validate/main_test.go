package main

import (
	"strings"
	"testing"
)

const deployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: teletrace
  labels: {app: teletrace}
spec:
  selector:
    matchLabels: {app: teletrace}
  template:
    metadata:
      labels: {app: teletrace}
    spec:
      containers:
        - name: teletrace
          image: localhost/teletrace:0.1.0
          ports: [{name: http, containerPort: 8080}]
          startupProbe: {httpGet: {path: /readyz, port: http}}
          livenessProbe: {httpGet: {path: /healthz, port: http}}
          readinessProbe: {httpGet: {path: /readyz, port: http}}
`

func TestAcceptsAValidDeployment(t *testing.T) {
	doc, err := decode([]byte(deployment))
	if err != nil {
		t.Fatal(err)
	}
	if doc.kind != "Deployment" || doc.name != "teletrace" {
		t.Fatalf("got %s %s", doc.kind, doc.name)
	}
}

func TestRefusesWhatTheAPIServerWould(t *testing.T) {
	for _, c := range []struct{ name, from, to, want string }{
		{"unknown field", "  selector:", "  replica: 2\n  selector:", `unknown field "spec.replica"`},
		{"wrong case", "  selector:", "  Replicas: 2\n  selector:", `unknown field "spec.Replicas"`},
		{"duplicate key", "  selector:", "  replicas: 1\n  replicas: 2\n  selector:", "already set in map"},
		{"wrong type", "containerPort: 8080", "containerPort: http", "containerPort"},
		{"bad name", "name: teletrace\n  labels", "name: Teletrace_1\n  labels", "name: a lowercase RFC 1123 subdomain"},
		{"selector mismatch", "    matchLabels: {app: teletrace}", "    matchLabels: {app: other}", "does not match the pod template's labels"},
		{"port name", "{name: http,", "{name: http_port_name_too_long,", "port http_port_name_too_long"},
		{"missing probe", "          livenessProbe: {httpGet: {path: /healthz, port: http}}\n", "", "a probe is missing"},
		{"unknown kind", "kind: Deployment", "kind: Deploymint", "unknown apiVersion/kind apps/v1 Deploymint"},
	} {
		bad := strings.Replace(deployment, c.from, c.to, 1)
		if bad == deployment {
			t.Fatalf("%s: the test's replacement did not apply", c.name)
		}
		_, err := decode([]byte(bad))
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestSplitsDocumentsAndSkipsEmptyOnes(t *testing.T) {
	docs := splitDocuments([]byte("---\n# Source: a\napiVersion: v1\n---\n# only a comment\n--- # x\nkind: B\n"))
	if len(docs) != 2 || !strings.Contains(string(docs[0]), "apiVersion: v1") || string(docs[1]) != "kind: B\n" {
		t.Fatalf("got %q", docs)
	}
}
