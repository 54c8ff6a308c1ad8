package check

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	psa "k8s.io/pod-security-admission/policy"
)

// A mutation sets one checked field of a pod, to a value that breaks a
// level or to one that keeps it.
type mutation struct {
	name string
	fn   func(p *corev1.Pod)
}

func ptr[T any](v T) *T { return &v }

func sc(c *corev1.Container) *corev1.SecurityContext {
	if c.SecurityContext == nil {
		c.SecurityContext = &corev1.SecurityContext{}
	}
	return c.SecurityContext
}

func psc(p *corev1.Pod) *corev1.PodSecurityContext {
	if p.Spec.SecurityContext == nil {
		p.Spec.SecurityContext = &corev1.PodSecurityContext{}
	}
	return p.Spec.SecurityContext
}

func caps(c *corev1.Container) *corev1.Capabilities {
	s := sc(c)
	if s.Capabilities == nil {
		s.Capabilities = &corev1.Capabilities{}
	}
	return s.Capabilities
}

// each applies f to every container of the pod (init and ephemeral too).
func each(p *corev1.Pod, f func(c *corev1.Container)) {
	for i := range p.Spec.InitContainers {
		f(&p.Spec.InitContainers[i])
	}
	for i := range p.Spec.Containers {
		f(&p.Spec.Containers[i])
	}
	for i := range p.Spec.EphemeralContainers {
		f((*corev1.Container)(&p.Spec.EphemeralContainers[i].EphemeralContainerCommon))
	}
}

func first(p *corev1.Pod, f func(c *corev1.Container)) { f(&p.Spec.Containers[0]) }

func mutations() []mutation {
	var ms []mutation
	add := func(name string, fn func(p *corev1.Pod)) { ms = append(ms, mutation{name, fn}) }
	for _, v := range []bool{true, false} {
		add(fmt.Sprintf("hostNetwork=%v", v), func(p *corev1.Pod) { p.Spec.HostNetwork = v })
		add(fmt.Sprintf("hostPID=%v", v), func(p *corev1.Pod) { p.Spec.HostPID = v })
		add(fmt.Sprintf("hostIPC=%v", v), func(p *corev1.Pod) { p.Spec.HostIPC = v })
		add(fmt.Sprintf("pod hostProcess=%v", v), func(p *corev1.Pod) {
			psc(p).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(v)}
		})
		add(fmt.Sprintf("container hostProcess=%v", v), func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				sc(c).WindowsOptions = &corev1.WindowsSecurityContextOptions{HostProcess: ptr(v)}
			})
		})
		add(fmt.Sprintf("privileged=%v", v), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).Privileged = ptr(v) }) })
		add(fmt.Sprintf("allowPrivilegeEscalation=%v", v), func(p *corev1.Pod) {
			each(p, func(c *corev1.Container) { sc(c).AllowPrivilegeEscalation = ptr(v) })
		})
		add(fmt.Sprintf("pod runAsNonRoot=%v", v), func(p *corev1.Pod) { psc(p).RunAsNonRoot = ptr(v) })
		add(fmt.Sprintf("container runAsNonRoot=%v", v), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).RunAsNonRoot = ptr(v) }) })
		add(fmt.Sprintf("hostUsers=%v", v), func(p *corev1.Pod) { p.Spec.HostUsers = ptr(v) })
	}
	add("allowPrivilegeEscalation unset", func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).AllowPrivilegeEscalation = nil }) })
	add("pod runAsNonRoot unset", func(p *corev1.Pod) { psc(p).RunAsNonRoot = nil })
	add("container runAsNonRoot unset", func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).RunAsNonRoot = nil }) })
	for _, cp := range []corev1.Capability{"NET_RAW", "SYS_ADMIN", "CHOWN", "NET_BIND_SERVICE", "KILL"} {
		add("add "+string(cp), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { caps(c).Add = append(caps(c).Add, cp) }) })
	}
	add("drop nothing", func(p *corev1.Pod) { first(p, func(c *corev1.Container) { caps(c).Drop = nil }) })
	add("drop NET_RAW", func(p *corev1.Pod) {
		first(p, func(c *corev1.Container) { caps(c).Drop = []corev1.Capability{"NET_RAW"} })
	})
	add("drop ALL", func(p *corev1.Pod) { each(p, func(c *corev1.Container) { caps(c).Drop = []corev1.Capability{"ALL"} }) })
	vol := func(name string, src corev1.VolumeSource) {
		add("volume "+name, func(p *corev1.Pod) {
			p.Spec.Volumes = append(p.Spec.Volumes, corev1.Volume{Name: name, VolumeSource: src})
		})
	}
	vol("hostpath", corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/etc"}})
	vol("nfs", corev1.VolumeSource{NFS: &corev1.NFSVolumeSource{Server: "nfs", Path: "/"}})
	vol("gitrepo", corev1.VolumeSource{GitRepo: &corev1.GitRepoVolumeSource{Repository: "x"}})
	vol("configmap", corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "c"}}})
	vol("emptydir", corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}})
	vol("pvc", corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "c"}})
	vol("image", corev1.VolumeSource{Image: &corev1.ImageVolumeSource{Reference: "x:1"}})
	for _, hp := range []int32{0, 8080} {
		add(fmt.Sprintf("hostPort %d", hp), func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				c.Ports = append(c.Ports, corev1.ContainerPort{ContainerPort: 80, HostPort: hp})
			})
		})
	}
	for _, v := range []string{"unconfined", "runtime/default", "localhost/prof", ""} {
		add("apparmor annotation "+v, func(p *corev1.Pod) {
			if p.Annotations == nil {
				p.Annotations = map[string]string{}
			}
			p.Annotations["container.apparmor.security.beta.kubernetes.io/app"] = v
		})
	}
	for _, t := range []corev1.AppArmorProfileType{"Unconfined", "RuntimeDefault", "Localhost"} {
		add("pod apparmor "+string(t), func(p *corev1.Pod) {
			psc(p).AppArmorProfile = &corev1.AppArmorProfile{Type: t, LocalhostProfile: localhost(string(t))}
		})
		add("container apparmor "+string(t), func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				sc(c).AppArmorProfile = &corev1.AppArmorProfile{Type: t, LocalhostProfile: localhost(string(t))}
			})
		})
	}
	for _, o := range []corev1.SELinuxOptions{{Type: "spc_t"}, {Type: "container_t"}, {Type: "container_engine_t"}, {User: "u"}, {Role: "r"}, {Level: "s0:c1"}} {
		add(fmt.Sprintf("pod selinux %+v", o), func(p *corev1.Pod) { psc(p).SELinuxOptions = &o })
		add(fmt.Sprintf("container selinux %+v", o), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).SELinuxOptions = &o }) })
	}
	for _, pm := range []corev1.ProcMountType{"Unmasked", "Default"} {
		add("procMount "+string(pm), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).ProcMount = ptr(pm) }) })
	}
	for _, t := range []corev1.SeccompProfileType{"Unconfined", "RuntimeDefault", "Localhost"} {
		add("pod seccomp "+string(t), func(p *corev1.Pod) {
			psc(p).SeccompProfile = &corev1.SeccompProfile{Type: t, LocalhostProfile: localhost(string(t))}
		})
		add("container seccomp "+string(t), func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				sc(c).SeccompProfile = &corev1.SeccompProfile{Type: t, LocalhostProfile: localhost(string(t))}
			})
		})
	}
	add("pod seccomp unset", func(p *corev1.Pod) { psc(p).SeccompProfile = nil })
	for _, s := range []string{"kernel.msgmax", "net.ipv4.tcp_syncookies", "net.ipv4.tcp_notsent_lowat", "net.core.somaxconn"} {
		add("sysctl "+s, func(p *corev1.Pod) { psc(p).Sysctls = append(psc(p).Sysctls, corev1.Sysctl{Name: s, Value: "1"}) })
	}
	for _, u := range []int64{0, 1000} {
		add(fmt.Sprintf("pod runAsUser %d", u), func(p *corev1.Pod) { psc(p).RunAsUser = ptr(u) })
		add(fmt.Sprintf("container runAsUser %d", u), func(p *corev1.Pod) { first(p, func(c *corev1.Container) { sc(c).RunAsUser = ptr(u) }) })
	}
	add("os windows", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Windows} })
	add("os linux", func(p *corev1.Pod) { p.Spec.OS = &corev1.PodOS{Name: corev1.Linux} })
	for _, h := range []string{"", "169.254.169.254"} {
		add("liveness httpGet host "+h, func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				c.LivenessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Host: h, Path: "/"}}}
			})
		})
		add("preStop tcpSocket host "+h, func(p *corev1.Pod) {
			first(p, func(c *corev1.Container) {
				c.Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{TCPSocket: &corev1.TCPSocketAction{Host: h}}}
			})
		})
	}
	add("init container", func(p *corev1.Pod) {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "init", Image: "busybox:1"})
	})
	add("ephemeral container", func(p *corev1.Pod) {
		p.Spec.EphemeralContainers = append(p.Spec.EphemeralContainers, corev1.EphemeralContainer{EphemeralContainerCommon: corev1.EphemeralContainerCommon{Name: "debug", Image: "busybox:1"}})
	})
	return ms
}

func localhost(t string) *string {
	if t == "Localhost" {
		return ptr("prof.json")
	}
	return nil
}

// restrictedPod passes the restricted level; baselinePod only baseline.
func restrictedPod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec: corev1.PodSpec{
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr(true), SeccompProfile: &corev1.SeccompProfile{Type: "RuntimeDefault"}},
			Containers: []corev1.Container{{Name: "app", Image: "app:1", SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
			}}},
		},
	}
}

func baselinePod() *corev1.Pod {
	return &corev1.Pod{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Name: "p"},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "app:1"}}},
	}
}

// pssCorpus returns the generated pods: every mutation alone on both
// bases, then seeded random combinations of two to four.
func pssCorpus() []struct {
	name string
	pod  *corev1.Pod
} {
	ms := mutations()
	var out []struct {
		name string
		pod  *corev1.Pod
	}
	for _, base := range []func() *corev1.Pod{restrictedPod, baselinePod} {
		for _, m := range ms {
			p := base()
			m.fn(p)
			out = append(out, struct {
				name string
				pod  *corev1.Pod
			}{m.name, p})
		}
	}
	r := rand.New(rand.NewPCG(15, 2026))
	for i := range 300 {
		p := restrictedPod()
		if i%3 == 0 {
			p = baselinePod()
		}
		var names []string
		for range 2 + r.IntN(3) {
			m := ms[r.IntN(len(ms))]
			m.fn(p)
			names = append(names, m.name)
		}
		out = append(out, struct {
			name string
			pod  *corev1.Pod
		}{strings.Join(names, "+"), p})
	}
	return out
}

// Rules the restricted level replaces with its own (upstream overrides).
var pssOverridden = []string{"K8S-PSS-B-CAPS", "K8S-PSS-B-SECCOMP", "K8S-PSS-B-PROCMOUNT"}

// TestPSSAgreesWithUpstream holds the Rego Pod Security Standards equal,
// pod by pod and level by level, to k8s.io/pod-security-admission/policy
// at the latest version.
func TestPSSAgreesWithUpstream(t *testing.T) {
	ctx := context.Background()
	c, err := New(ctx, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ev, err := psa.NewEvaluator(psa.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	corpus := pssCorpus()
	if len(corpus) < 200 {
		t.Fatalf("corpus of %d pods, want at least 200", len(corpus))
	}
	disagree := 0
	counts := map[string]int{}
	for i, tc := range corpus {
		raw, err := json.Marshal(tc.pod)
		if err != nil {
			t.Fatal(err)
		}
		docs, err := parseJSON("pod.json", raw)
		if err != nil || len(docs) != 1 {
			t.Fatalf("%s: %v", tc.name, err)
		}
		fs, ferr := c.judge(ctx, "pod.json", docs[0])
		if ferr != nil {
			t.Fatalf("%s: %v", tc.name, ferr)
		}
		var base, restr []string
		for _, f := range fs {
			switch {
			case strings.HasPrefix(f.Rule, "K8S-PSS-B-"):
				base = append(base, f.Rule)
				if !slices.Contains(pssOverridden, f.Rule) {
					restr = append(restr, f.Rule)
				}
			case strings.HasPrefix(f.Rule, "K8S-PSS-R-"):
				restr = append(restr, f.Rule)
			}
		}
		for _, lv := range []struct {
			level api.Level
			ours  []string
		}{{api.LevelBaseline, base}, {api.LevelRestricted, restr}} {
			res := ev.EvaluatePod(api.LevelVersion{Level: lv.level, Version: api.LatestVersion()}, &tc.pod.ObjectMeta, &tc.pod.Spec)
			agg := psa.AggregateCheckResults(res)
			counts[fmt.Sprintf("%s allowed=%v", lv.level, agg.Allowed)]++
			if agg.Allowed != (len(lv.ours) == 0) {
				disagree++
				t.Errorf("pod %d (%s), %s: upstream allowed=%v (%s), paved findings %v", i, tc.name, lv.level, agg.Allowed, agg.ForbiddenDetail(), lv.ours)
			}
		}
	}
	t.Logf("%d pods, %d verdicts disagree; %v", len(corpus), disagree, counts)
}
