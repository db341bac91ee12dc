#!/usr/bin/env bash
# The Helm chart (deploy/helm/teletrace) without a cluster: its appVersion is the VERSION file;
# `helm lint --strict` passes for the defaults and every case in cases/; `helm template` of each
# renders manifests that decode strictly into the Kubernetes API types (validate/, a Go program on
# k8s.io/api) and exactly the objects golden/<case>.objects lists; the default rendering equals
# golden/default.yaml; a config change changes the pods' checksum annotation; every values file in
# invalid/ is refused with the message its first line expects. UPDATE_GOLDEN=1 rewrites golden/.
# The real run of the rendered manifests is tests/integration/containers/kube_play.test.mjs.
set -euo pipefail
cd "$(dirname "$0")/../.."
helm="${TELETRACE_HELM:-$(scripts/install-helm.sh)}"
chart=deploy/helm/teletrace
here=tests/helm
# A fixed Kubernetes version: helm built from source defaults to an old one (v1.20 for helm 3).
kube=(--kube-version 1.33.0)
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
fail() { echo "chart test: FAILED: $*" >&2; exit 1; }

(cd "$here/validate" && go test ./... >/dev/null && go build -o "$work/validate" .) || fail "tests/helm/validate"

version="$(head -n 1 VERSION)"
grep -qx "appVersion: \"$version\"" "$chart/Chart.yaml" || fail "Chart.yaml appVersion is not \"$version\" (VERSION)"

render() {  # render CASE-NAME [helm args...] -> $work/CASE-NAME.yaml, checked
  local name="$1"; shift
  "$helm" lint --strict "${kube[@]}" "$chart" "$@" > "$work/$name.lint" 2>&1 || { cat "$work/$name.lint" >&2; fail "lint: $name"; }
  # Blank lines dropped: helm 3 and 4 separate documents differently, the objects are the same.
  "$helm" template teletrace "$chart" "${kube[@]}" --namespace tracing "$@" | sed '/^$/d' > "$work/$name.yaml"
  "$work/validate" < "$work/$name.yaml" > "$work/$name.objects" || fail "$name: rendered manifests are not valid Kubernetes objects"
  if [[ "${UPDATE_GOLDEN:-}" == 1 ]]; then
    cp "$work/$name.objects" "$here/golden/$name.objects"
  fi
  diff -u "$here/golden/$name.objects" "$work/$name.objects" || fail "$name: not the objects golden/$name.objects lists"
}

render default
if [[ "${UPDATE_GOLDEN:-}" == 1 ]]; then cp "$work/default.yaml" "$here/golden/default.yaml"; fi
diff -u "$here/golden/default.yaml" "$work/default.yaml" || fail "default values: rendering differs from golden/default.yaml"
cases=1
for values in "$here"/cases/*.yaml; do
  render "$(basename "$values" .yaml)" -f "$values"
  cases=$((cases + 1))
done

# service.zipkinPort: off by default; when set, the setting, the container port and the Service port.
! grep -qi zipkin "$work/default.yaml" || fail "default values mention Zipkin (its port is off by default)"
for want in 'zipkin_port: "9411"' '- name: zipkin' 'containerPort: 9411' 'port: 9411' 'targetPort: zipkin'; do
  grep -qF -- "$want" "$work/sqlite-trial.yaml" || fail "sqlite-trial (service.zipkinPort=9411) lacks '$want'"
done

checksum() { grep -m 1 'checksum/config:' "$1" | awk '{ print $2 }'; }
"$helm" template teletrace "$chart" "${kube[@]}" --namespace tracing --set config.log.level=debug > "$work/changed.yaml"
[[ -n "$(checksum "$work/default.yaml")" ]] || fail "no checksum/config annotation"
[[ "$(checksum "$work/default.yaml")" != "$(checksum "$work/changed.yaml")" ]] || fail "a config change leaves checksum/config as it was"

refused=0
for values in "$here"/invalid/*.yaml; do
  expect="$(sed -n '1s/^# expect: //p' "$values")"
  [[ -n "$expect" ]] || fail "$values: no '# expect: ' first line"
  if "$helm" template teletrace "$chart" "${kube[@]}" -f "$values" > /dev/null 2> "$work/error"; then
    fail "$values was accepted"
  fi
  grep -qF -- "$expect" "$work/error" || { cat "$work/error" >&2; fail "$values: refused without \"$expect\""; }
  refused=$((refused + 1))
done
echo "chart test: $cases values combinations render valid objects, $refused bad ones refused"
