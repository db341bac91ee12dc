// Command validate checks rendered Kubernetes manifests (helm template output) against the
// Kubernetes API types: every document is decoded into its k8s.io/api type the way the API server
// decodes strictly (sigs.k8s.io/json: case-sensitive, unknown and duplicate fields rejected), then
// checked for names and labels Kubernetes would refuse. It prints one "Kind name" line per
// document, sorted, so tests can compare what a values combination renders.
//
// With -kube-play it instead rewrites the documents into what `podman kube play` runs: podman
// does not run StatefulSets, so a StatefulSet becomes a Deployment with the same pod template
// plus one PersistentVolumeClaim per volume claim template (named as the StatefulSet's first pod
// would claim it); ConfigMaps are kept; Services, ServiceAccounts and Secrets are left out (podman
// ignores or does not need them); named container ports are published on 127.0.0.1 at the host
// ports given by -host-ports (name=port,...).
//
// Usage: helm template ... | validate [-kube-play -host-ports http=18080,...]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strconv"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"
)

// serviceMonitor holds the fields of the Prometheus Operator's ServiceMonitor (monitoring.coreos.com/v1)
// that the chart sets; the CRD's Go types are not a k8s.io module, so they are declared here, and
// any other field the chart rendered is rejected as unknown.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			Authorization *struct {
				Type        string                    `json:"type"`
				Credentials *corev1.SecretKeySelector `json:"credentials"`
			} `json:"authorization,omitempty"`
		} `json:"endpoints"`
	} `json:"spec"`
}

func newObject(apiVersion, kind string) (any, error) {
	switch apiVersion + "/" + kind {
	case "v1/ConfigMap":
		return &corev1.ConfigMap{}, nil
	case "v1/Secret":
		return &corev1.Secret{}, nil
	case "v1/Service":
		return &corev1.Service{}, nil
	case "v1/ServiceAccount":
		return &corev1.ServiceAccount{}, nil
	case "v1/PersistentVolumeClaim":
		return &corev1.PersistentVolumeClaim{}, nil
	case "apps/v1/Deployment":
		return &appsv1.Deployment{}, nil
	case "apps/v1/StatefulSet":
		return &appsv1.StatefulSet{}, nil
	case "autoscaling/v2/HorizontalPodAutoscaler":
		return &autoscalingv2.HorizontalPodAutoscaler{}, nil
	case "policy/v1/PodDisruptionBudget":
		return &policyv1.PodDisruptionBudget{}, nil
	case "networking.k8s.io/v1/Ingress":
		return &networkingv1.Ingress{}, nil
	case "monitoring.coreos.com/v1/ServiceMonitor":
		return &serviceMonitor{}, nil
	}
	return nil, fmt.Errorf("unknown apiVersion/kind %s %s", apiVersion, kind)
}

type document struct {
	kind, name string
	object     any
}

func decode(raw []byte) (*document, error) {
	data, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, fmt.Errorf("not valid YAML: %w", err)
	}
	var meta metav1.TypeMeta
	if err := kjson.UnmarshalCaseSensitivePreserveInts(data, &meta); err != nil {
		return nil, err
	}
	object, err := newObject(meta.APIVersion, meta.Kind)
	if err != nil {
		return nil, err
	}
	strict, err := kjson.UnmarshalStrict(data, object, kjson.DisallowUnknownFields)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", meta.Kind, err)
	}
	if len(strict) > 0 {
		return nil, fmt.Errorf("%s: %v", meta.Kind, strict)
	}
	om := object.(metav1.ObjectMetaAccessor).GetObjectMeta()
	doc := &document{kind: meta.Kind, name: om.GetName(), object: object}
	var problems []string
	for _, msg := range validation.IsDNS1123Subdomain(om.GetName()) {
		problems = append(problems, "name: "+msg)
	}
	for key, value := range om.GetLabels() {
		for _, msg := range validation.IsQualifiedName(key) {
			problems = append(problems, "label "+key+": "+msg)
		}
		for _, msg := range validation.IsValidLabelValue(value) {
			problems = append(problems, "label "+key+"="+value+": "+msg)
		}
	}
	problems = append(problems, checkWorkload(object)...)
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s %s: %s", doc.kind, doc.name, strings.Join(problems, "; "))
	}
	return doc, nil
}

// checkWorkload: what the API server's validation would refuse in the pod template and selectors.
func checkWorkload(object any) []string {
	var template *corev1.PodTemplateSpec
	var selector *metav1.LabelSelector
	switch o := object.(type) {
	case *appsv1.Deployment:
		template, selector = &o.Spec.Template, o.Spec.Selector
	case *appsv1.StatefulSet:
		template, selector = &o.Spec.Template, o.Spec.Selector
	default:
		return nil
	}
	var problems []string
	if selector == nil || len(selector.MatchLabels) == 0 {
		return []string{"no selector"}
	}
	for k, v := range selector.MatchLabels {
		if template.Labels[k] != v {
			problems = append(problems, "selector "+k+"="+v+" does not match the pod template's labels")
		}
	}
	for _, c := range template.Spec.Containers {
		for _, p := range c.Ports {
			for _, msg := range validation.IsValidPortName(p.Name) {
				problems = append(problems, "port "+p.Name+": "+msg)
			}
		}
		for _, probe := range []*corev1.Probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
			if probe == nil || probe.HTTPGet == nil {
				problems = append(problems, "container "+c.Name+": a probe is missing")
			}
		}
		mounts := map[string]bool{}
		for _, m := range c.VolumeMounts {
			mounts[m.Name] = true
		}
		volumes := map[string]bool{}
		for _, v := range template.Spec.Volumes {
			volumes[v.Name] = true
		}
		if sts, ok := object.(*appsv1.StatefulSet); ok {
			for _, t := range sts.Spec.VolumeClaimTemplates {
				volumes[t.Name] = true
			}
		}
		for name := range mounts {
			if !volumes[name] {
				problems = append(problems, "volume mount "+name+" has no volume")
			}
		}
	}
	return problems
}

func splitDocuments(input []byte) [][]byte {
	var docs [][]byte
	for _, part := range bytes.Split(append([]byte("\n"), input...), []byte("\n---")) {
		body := part
		if i := bytes.IndexByte(body, '\n'); i >= 0 {
			body = body[i+1:] // the rest of the separator line (e.g. "--- # comment")
		} else {
			continue
		}
		nonComment := false
		for _, line := range strings.Split(string(body), "\n") {
			t := strings.TrimSpace(line)
			if t != "" && !strings.HasPrefix(t, "#") {
				nonComment = true
				break
			}
		}
		if nonComment {
			docs = append(docs, body)
		}
	}
	return docs
}

func kubePlay(docs []*document, hostPorts map[string]int32) ([]any, error) {
	var out []any
	for _, d := range docs {
		switch o := d.object.(type) {
		case *corev1.ConfigMap:
			out = append(out, o)
		case *appsv1.Deployment:
			publish(&o.Spec.Template, hostPorts)
			out = append(out, o)
		case *appsv1.StatefulSet:
			template := o.Spec.Template.DeepCopy()
			for _, t := range o.Spec.VolumeClaimTemplates {
				claim := fmt.Sprintf("%s-%s-0", t.Name, o.Name)
				out = append(out, &corev1.PersistentVolumeClaim{
					TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "PersistentVolumeClaim"},
					ObjectMeta: metav1.ObjectMeta{Name: claim, Labels: t.Labels},
					Spec:       t.Spec,
				})
				template.Spec.Volumes = append(template.Spec.Volumes, corev1.Volume{
					Name: t.Name,
					VolumeSource: corev1.VolumeSource{
						PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: claim},
					},
				})
			}
			publish(template, hostPorts)
			one := int32(1)
			out = append(out, &appsv1.Deployment{
				TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "Deployment"},
				ObjectMeta: *o.ObjectMeta.DeepCopy(),
				Spec: appsv1.DeploymentSpec{
					Replicas: &one, Selector: o.Spec.Selector, Template: *template,
				},
			})
		}
	}
	return out, nil
}

func publish(template *corev1.PodTemplateSpec, hostPorts map[string]int32) {
	for i := range template.Spec.Containers {
		for j := range template.Spec.Containers[i].Ports {
			p := &template.Spec.Containers[i].Ports[j]
			if port, ok := hostPorts[p.Name]; ok {
				p.HostPort, p.HostIP = port, "127.0.0.1"
			}
		}
	}
}

func main() {
	play := flag.Bool("kube-play", false, "print the documents rewritten for podman kube play")
	ports := flag.String("host-ports", "", "name=port,... of container ports to publish on 127.0.0.1")
	flag.Parse()
	input, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, "validate:", err)
		os.Exit(2)
	}
	var docs []*document
	failed := false
	for i, raw := range splitDocuments(input) {
		doc, err := decode(raw)
		if err != nil {
			fmt.Fprintf(os.Stderr, "validate: document %d: %v\n", i+1, err)
			failed = true
			continue
		}
		docs = append(docs, doc)
	}
	if failed {
		os.Exit(1)
	}
	if len(docs) == 0 {
		fmt.Fprintln(os.Stderr, "validate: no documents")
		os.Exit(1)
	}
	if !*play {
		lines := make([]string, 0, len(docs))
		for _, d := range docs {
			lines = append(lines, d.kind+" "+d.name)
		}
		sort.Strings(lines)
		fmt.Println(strings.Join(lines, "\n"))
		return
	}
	hostPorts := map[string]int32{}
	for _, pair := range strings.Split(*ports, ",") {
		if pair == "" {
			continue
		}
		name, value, ok := strings.Cut(pair, "=")
		port, err := strconv.ParseInt(value, 10, 32)
		if !ok || err != nil {
			fmt.Fprintf(os.Stderr, "validate: bad -host-ports entry %q\n", pair)
			os.Exit(2)
		}
		hostPorts[name] = int32(port)
	}
	objects, _ := kubePlay(docs, hostPorts)
	for _, o := range objects {
		data, err := yaml.Marshal(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "validate:", err)
			os.Exit(1)
		}
		fmt.Printf("---\n%s", data)
	}
}
