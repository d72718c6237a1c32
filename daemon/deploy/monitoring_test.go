package deploy

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/labels"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"gopkg.in/yaml.v3"
)

// monitoringArgs turn on the chart's Prometheus operator resources and
// the dashboard; scheduledResyncInterval gives GlsyncResyncOverdue its
// default threshold.
var monitoringArgs = valuesWith("--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true",
	"--set", "grafanaDashboard.enabled=true", "--set", "scheduledResyncInterval=120")

// The alerts the chart ships: docs/operations.md has a section for each.
var wantAlerts = []string{"GlsyncResyncFailing", "GlsyncResyncOverdue", "GlsyncNoLeader", "GlsyncHookDisabled", "GlsyncHookMissing",
	"GlsyncHookRepairFailing", "GlsyncDeadLetters", "GlsyncQueueGrowing", "GlsyncQueueOldestEventOld", "GlsyncGitLabRateLimited",
	"GlsyncRefusedDeliveries", "GlsyncFileErrors"}

const dashboardFile = "helm/glsync/dashboards/glsync.json"

func findNamed(docs []manifest, kind, name string) manifest {
	for _, d := range docs {
		if d["kind"] == kind && dig(d, "metadata", "name") == name {
			return d
		}
	}
	return nil
}

// promParser is Prometheus's own PromQL parser, as the rule loader uses.
var promParser = parser.NewParser(parser.Options{})

// parseRules hands the rendered PrometheusRule's groups to Prometheus's
// rule file parser (rulefmt, which also parses every expression and
// annotation template), failing on any error it reports.
func parseRules(t *testing.T, docs []manifest) *rulefmt.RuleGroups {
	t.Helper()
	pr := find(docs, "PrometheusRule")
	if pr == nil {
		t.Fatal("no PrometheusRule rendered")
	}
	if pr["apiVersion"] != "monitoring.coreos.com/v1" {
		t.Fatalf("PrometheusRule apiVersion %v", pr["apiVersion"])
	}
	b, err := yaml.Marshal(dig(pr, "spec"))
	if err != nil {
		t.Fatal(err)
	}
	groups, errs := rulefmt.Parse(b, false, model.UTF8Validation, promParser, slog.New(slog.DiscardHandler))
	for _, e := range errs {
		t.Errorf("rulefmt: %v", e)
	}
	if len(errs) > 0 {
		t.FailNow()
	}
	return groups
}

// docsAnchors are the GitHub anchors of docs/operations.md's headings.
func docsAnchors(t *testing.T) (map[string]bool, string) {
	t.Helper()
	b, err := os.ReadFile("../../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	anchors := map[string]bool{}
	drop := regexp.MustCompile(`[^\p{L}\p{N} _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimSpace(strings.TrimLeft(h, "#"))
			anchors[strings.ReplaceAll(drop.ReplaceAllString(strings.ToLower(h), ""), " ", "-")] = true
		}
	}
	return anchors, string(b)
}

// metricNames adds the metric names expr selects to names, and checks
// that every selector carries want (the release's job selector), so no
// alert reads another deployment's series.
func metricNames(t *testing.T, expr string, want *parser.VectorSelector, names map[string]bool) {
	t.Helper()
	e, err := promParser.ParseExpr(expr)
	if err != nil {
		t.Fatalf("%s: %v", expr, err)
	}
	parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
		vs, ok := n.(*parser.VectorSelector)
		if !ok {
			return nil
		}
		name := vs.Name
		for _, m := range vs.LabelMatchers {
			if m.Name == model.MetricNameLabel {
				name = m.Value
			}
		}
		if name == "" {
			t.Errorf("%s: a selector without a metric name", expr)
		}
		names[name] = true
		if want != nil {
			for _, w := range want.LabelMatchers {
				if w.Name == model.MetricNameLabel {
					continue
				}
				if !slices.ContainsFunc(vs.LabelMatchers, func(m *labels.Matcher) bool { return m.String() == w.String() }) {
					t.Errorf("%s: selector %s lacks %s", expr, vs, w)
				}
			}
		}
		return nil
	})
}

// TestChartMonitoringIsOffByDefault: nothing of the Prometheus operator
// (whose CRDs a cluster may lack) or Grafana is rendered unless asked.
func TestChartMonitoringIsOffByDefault(t *testing.T) {
	docs := render(t, withToken...)
	for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
		if find(docs, kind) != nil {
			t.Errorf("a %s without its value", kind)
		}
	}
	if findNamed(docs, "Service", "glsync-metrics") != nil || findNamed(docs, "ConfigMap", "glsync-dashboard") != nil {
		t.Error("the metrics Service or the dashboard without their values")
	}
}

// TestChartServiceMonitor: the ServiceMonitor scrapes /metrics through a
// ClusterIP Service of its own whose port is the pod's metrics port, with
// the interval and labels of the values.
func TestChartServiceMonitor(t *testing.T) {
	docs := render(t, append(monitoringArgs, "--set", "serviceMonitor.interval=15s", "--set", "serviceMonitor.labels.release=kps")...)
	svc := findNamed(docs, "Service", "glsync-metrics")
	sm := find(docs, "ServiceMonitor")
	if svc == nil || sm == nil {
		t.Fatal("no metrics Service or ServiceMonitor")
	}
	if sm["apiVersion"] != "monitoring.coreos.com/v1" || dig(svc, "spec", "type") != "ClusterIP" {
		t.Fatalf("apiVersion %v, Service type %v", sm["apiVersion"], dig(svc, "spec", "type"))
	}
	// The Service's port reaches the container port named metrics, where
	// GLSYNC_METRICS_LISTEN listens.
	port := dig(svc, "spec", "ports", 0)
	dep := find(docs, "Deployment")
	var containerPort any
	for _, p := range dig(dep, "spec", "template", "spec", "containers", 0, "ports").([]any) {
		if dig(p, "name") == "metrics" {
			containerPort = dig(p, "containerPort")
		}
	}
	if dig(port, "targetPort") != "metrics" || containerPort != 9090 || envOf(dep)["GLSYNC_METRICS_LISTEN"]["value"] != ":9090" {
		t.Fatalf("metrics Service port %v, container port %v", port, containerPort)
	}
	// The ServiceMonitor selects that Service (and not the deliveries').
	for k, v := range dig(sm, "spec", "selector", "matchLabels").(map[string]any) {
		if dig(svc, "metadata", "labels", k) != v {
			t.Errorf("ServiceMonitor selects %s=%v, which the metrics Service lacks", k, v)
		}
	}
	if main := findNamed(docs, "Service", "glsync"); dig(main, "metadata", "labels", "app.kubernetes.io/component") == "metrics" {
		t.Error("the ServiceMonitor would select the deliveries' Service too")
	}
	ep := dig(sm, "spec", "endpoints", 0)
	if dig(ep, "port") != dig(port, "name") || dig(ep, "path") != "/metrics" || dig(ep, "interval") != "15s" {
		t.Fatalf("endpoint %v", ep)
	}
	if dig(sm, "metadata", "labels", "release") != "kps" {
		t.Fatal("serviceMonitor.labels not applied")
	}
}

// TestChartPrometheusRule: the rendered rules parse with Prometheus's
// own rule parser; every alert reads only this release's series, has a
// severity, a summary, a description that says what to check first and a
// runbook_url to its section of docs/operations.md; thresholds follow the
// values.
func TestChartPrometheusRule(t *testing.T) {
	docs := render(t, append(monitoringArgs, "--set", "prometheusRule.alertLabels.team=platform",
		"--set", "prometheusRule.labels.release=kps")...)
	if dig(find(docs, "PrometheusRule"), "metadata", "labels", "release") != "kps" {
		t.Error("prometheusRule.labels not applied")
	}
	groups := parseRules(t, docs)
	anchors, ops := docsAnchors(t)
	sel, err := promParser.ParseExpr(`x{job="glsync-metrics",namespace="default"}`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				t.Errorf("recording rule %q: the chart ships alerts only", r.Record)
				continue
			}
			got = append(got, r.Alert)
			names := map[string]bool{}
			metricNames(t, r.Expr, sel.(*parser.VectorSelector), names)
			// Its runbook section shows what it reads.
			_, section, _ := strings.Cut(ops, "\n### "+r.Alert+"\n")
			section, _, _ = strings.Cut(section, "\n#")
			for n := range names {
				if !strings.Contains(section, n) {
					t.Errorf("%s: docs/operations.md's section does not name %s, which the alert reads", r.Alert, n)
				}
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("%s: severity %q", r.Alert, s)
			}
			if r.Labels["team"] != "platform" {
				t.Errorf("%s: alertLabels not applied: %v", r.Alert, r.Labels)
			}
			if r.Annotations["summary"] == "" || !strings.Contains(r.Annotations["description"], "First check") && !strings.Contains(r.Annotations["description"], "First read") {
				t.Errorf("%s: summary %q, description %q (it must say what to check first)", r.Alert, r.Annotations["summary"], r.Annotations["description"])
			}
			base, anchor, _ := strings.Cut(r.Annotations["runbook_url"], "#")
			if base != "https://github.com/glsync/terraform-provider-glsync/blob/main/docs/operations.md" || anchor != strings.ToLower(r.Alert) || !anchors[anchor] {
				t.Errorf("%s: runbook_url %q: want docs/operations.md#%s, a heading there", r.Alert, r.Annotations["runbook_url"], strings.ToLower(r.Alert))
			}
		}
	}
	if !slices.Equal(got, wantAlerts) {
		t.Fatalf("alerts %v, want %v", got, wantAlerts)
	}

	// Thresholds and the selector come from the values.
	docs = render(t, append(monitoringArgs, "--set", "prometheusRule.queueDepth=5000", "--set", "prometheusRule.resyncOverdueMinutes=90",
		"--set", "prometheusRule.rateLimitedFor=30m", "--set", `prometheusRule.selector=job="glsync"`)...)
	rules := map[string]rulefmt.Rule{}
	for _, r := range parseRules(t, docs).Groups[0].Rules {
		rules[r.Alert] = r
	}
	if !strings.Contains(rules["GlsyncQueueGrowing"].Expr, "> 5000") || !strings.Contains(rules["GlsyncResyncOverdue"].Expr, "> 5400") ||
		rules["GlsyncGitLabRateLimited"].For.String() != "30m" || !strings.Contains(rules["GlsyncNoLeader"].Expr, `glsync_leader{job="glsync"}`) {
		t.Fatalf("values not applied: %v / %v / %v / %v", rules["GlsyncQueueGrowing"].Expr, rules["GlsyncResyncOverdue"].Expr,
			rules["GlsyncGitLabRateLimited"].For, rules["GlsyncNoLeader"].Expr)
	}
	// Without a schedule the chart knows of, a resync is never overdue.
	docs = render(t, valuesWith("--set", "prometheusRule.enabled=true")...)
	for _, r := range parseRules(t, docs).Groups[0].Rules {
		if r.Alert == "GlsyncResyncOverdue" {
			t.Fatal("GlsyncResyncOverdue without scheduledResyncInterval or resyncOverdueMinutes")
		}
	}
}

// grafanaVars replaces the dashboard's variables with what Grafana sends,
// so its queries parse as Prometheus receives them.
var grafanaVars = strings.NewReplacer("$__rate_interval", "1m", "$__range", "6h", "$job", ".+")

// dashboardExprs are the PromQL queries of every panel of the dashboard.
func dashboardExprs(t *testing.T, b []byte) []string {
	t.Helper()
	var d struct {
		Panels []struct {
			Title   string
			Targets []struct{ Expr string }
		}
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, p := range d.Panels {
		for _, tg := range p.Targets {
			if tg.Expr == "" {
				t.Errorf("panel %q: a target without a query", p.Title)
			}
			out = append(out, grafanaVars.Replace(tg.Expr))
		}
	}
	if len(out) < 20 {
		t.Fatalf("%d queries in the dashboard; the parse is wrong", len(out))
	}
	return out
}

// TestChartDashboard: the ConfigMap carries the dashboard file unchanged
// under the sidecar's label; every panel's query parses; the docs point
// at the same file (one source).
func TestChartDashboard(t *testing.T) {
	docs := render(t, append(monitoringArgs, "--set", "grafanaDashboard.annotations.grafana_folder=GitLab")...)
	cm := findNamed(docs, "ConfigMap", "glsync-dashboard")
	if cm == nil {
		t.Fatal("no dashboard ConfigMap")
	}
	if dig(cm, "metadata", "labels", "grafana_dashboard") != "1" || dig(cm, "metadata", "annotations", "grafana_folder") != "GitLab" {
		t.Fatalf("labels %v, annotations %v", dig(cm, "metadata", "labels"), dig(cm, "metadata", "annotations"))
	}
	file, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	if got, _ := dig(cm, "data", "glsync.json").(string); got != strings.TrimRight(string(file), "\n") {
		t.Fatal("the ConfigMap's dashboard differs from " + dashboardFile)
	}
	for _, e := range dashboardExprs(t, file) {
		metricNames(t, e, nil, map[string]bool{})
	}
	// The panels show the masked token label, never a token.
	if bytes.Contains(file, []byte("glpat-")) {
		t.Fatal("a token in the dashboard")
	}
	_, ops := docsAnchors(t)
	if !strings.Contains(ops, "daemon/deploy/helm/glsync/dashboards/glsync.json") {
		t.Fatal("docs/operations.md does not point at the dashboard the chart ships")
	}
	docs = render(t, append(monitoringArgs, "--set", "grafanaDashboard.labels.grafana_dashboard=null", "--set", "grafanaDashboard.labels.dash=yes")...)
	if l := dig(findNamed(docs, "ConfigMap", "glsync-dashboard"), "metadata", "labels"); dig(l, "dash") != "yes" || dig(l, "grafana_dashboard") != nil {
		t.Fatalf("grafanaDashboard.labels not followed: %v", l)
	}
}
