package secrets_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pavedroad/paved"
	"github.com/pavedroad/paved/internal/testenv"
	"github.com/pavedroad/paved/secrets"
	"github.com/pavedroad/paved/secrets/secretstest"
)

var (
	sinkSecret secrets.Secret
	sinkErr    error
)

type benchValue struct {
	val secrets.Secret
	err error
}

// BenchmarkAtomicPointerLoad is the floor a cached read is measured against.
func BenchmarkAtomicPointerLoad(b *testing.B) {
	var p atomic.Pointer[benchValue]
	p.Store(&benchValue{val: secrets.NewSecret("v")})
	b.ReportAllocs()
	for b.Loop() {
		v := p.Load()
		sinkSecret, sinkErr = v.val, v.err
	}
}

func benchStatic(b *testing.B) (*secretstest.Fake, *secrets.Client, *secrets.Static) {
	f := secretstest.New()
	f.Put("secret/app", map[string]any{"k": "v0"})
	c, err := secrets.New(context.Background(), secrets.Config{Backend: f, Login: secrets.TokenLogin{Token: secrets.NewSecret(f.RootToken())},
		OptOuts: []paved.OptOut{secrets.AllowStaticToken("benchmark")}, Posture: &paved.Posture{}, Logger: quietLogger()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close(context.Background()) })
	s, err := c.Static(context.Background(), "secret/app#k")
	if err != nil {
		b.Fatal(err)
	}
	return f, c, s
}

// BenchmarkStaticValue is a cached read: one atomic load.
func BenchmarkStaticValue(b *testing.B) {
	_, _, s := benchStatic(b)
	b.ReportAllocs()
	for b.Loop() {
		sinkSecret, sinkErr = s.Value()
	}
}

// BenchmarkStaticValueParallel reads from every P, without and during a
// rotation storm (a new version refreshed in a loop, each one notified).
func BenchmarkStaticValueParallel(b *testing.B) {
	for _, storm := range []bool{false, true} {
		b.Run(fmt.Sprintf("storm=%t", storm), func(b *testing.B) {
			f, c, s := benchStatic(b)
			var rotations atomic.Int64
			s.OnChange(func(_, _ secrets.Secret) { rotations.Add(1) })
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 0; storm; i++ {
					select {
					case <-stop:
						return
					default:
					}
					f.Put("secret/app", map[string]any{"k": fmt.Sprint("v", i)})
					_ = c.Refresh(context.Background())
				}
			}()
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var v secrets.Secret
				var err error
				for pb.Next() {
					v, err = s.Value()
				}
				sinkSecret, sinkErr = v, err
			})
			b.StopTimer()
			close(stop)
			<-done
			b.ReportMetric(float64(rotations.Load()), "rotations")
		})
	}
}

// bench50 has 50 references, one secret each.
type bench50 struct {
	S01 secrets.Secret `secret:"secret/paved-bench/s01#k"`
	S02 secrets.Secret `secret:"secret/paved-bench/s02#k"`
	S03 secrets.Secret `secret:"secret/paved-bench/s03#k"`
	S04 secrets.Secret `secret:"secret/paved-bench/s04#k"`
	S05 secrets.Secret `secret:"secret/paved-bench/s05#k"`
	S06 secrets.Secret `secret:"secret/paved-bench/s06#k"`
	S07 secrets.Secret `secret:"secret/paved-bench/s07#k"`
	S08 secrets.Secret `secret:"secret/paved-bench/s08#k"`
	S09 secrets.Secret `secret:"secret/paved-bench/s09#k"`
	S10 secrets.Secret `secret:"secret/paved-bench/s10#k"`
	S11 secrets.Secret `secret:"secret/paved-bench/s11#k"`
	S12 secrets.Secret `secret:"secret/paved-bench/s12#k"`
	S13 secrets.Secret `secret:"secret/paved-bench/s13#k"`
	S14 secrets.Secret `secret:"secret/paved-bench/s14#k"`
	S15 secrets.Secret `secret:"secret/paved-bench/s15#k"`
	S16 secrets.Secret `secret:"secret/paved-bench/s16#k"`
	S17 secrets.Secret `secret:"secret/paved-bench/s17#k"`
	S18 secrets.Secret `secret:"secret/paved-bench/s18#k"`
	S19 secrets.Secret `secret:"secret/paved-bench/s19#k"`
	S20 secrets.Secret `secret:"secret/paved-bench/s20#k"`
	S21 secrets.Secret `secret:"secret/paved-bench/s21#k"`
	S22 secrets.Secret `secret:"secret/paved-bench/s22#k"`
	S23 secrets.Secret `secret:"secret/paved-bench/s23#k"`
	S24 secrets.Secret `secret:"secret/paved-bench/s24#k"`
	S25 secrets.Secret `secret:"secret/paved-bench/s25#k"`
	S26 secrets.Secret `secret:"secret/paved-bench/s26#k"`
	S27 secrets.Secret `secret:"secret/paved-bench/s27#k"`
	S28 secrets.Secret `secret:"secret/paved-bench/s28#k"`
	S29 secrets.Secret `secret:"secret/paved-bench/s29#k"`
	S30 secrets.Secret `secret:"secret/paved-bench/s30#k"`
	S31 secrets.Secret `secret:"secret/paved-bench/s31#k"`
	S32 secrets.Secret `secret:"secret/paved-bench/s32#k"`
	S33 secrets.Secret `secret:"secret/paved-bench/s33#k"`
	S34 secrets.Secret `secret:"secret/paved-bench/s34#k"`
	S35 secrets.Secret `secret:"secret/paved-bench/s35#k"`
	S36 secrets.Secret `secret:"secret/paved-bench/s36#k"`
	S37 secrets.Secret `secret:"secret/paved-bench/s37#k"`
	S38 secrets.Secret `secret:"secret/paved-bench/s38#k"`
	S39 secrets.Secret `secret:"secret/paved-bench/s39#k"`
	S40 secrets.Secret `secret:"secret/paved-bench/s40#k"`
	S41 secrets.Secret `secret:"secret/paved-bench/s41#k"`
	S42 secrets.Secret `secret:"secret/paved-bench/s42#k"`
	S43 secrets.Secret `secret:"secret/paved-bench/s43#k"`
	S44 secrets.Secret `secret:"secret/paved-bench/s44#k"`
	S45 secrets.Secret `secret:"secret/paved-bench/s45#k"`
	S46 secrets.Secret `secret:"secret/paved-bench/s46#k"`
	S47 secrets.Secret `secret:"secret/paved-bench/s47#k"`
	S48 secrets.Secret `secret:"secret/paved-bench/s48#k"`
	S49 secrets.Secret `secret:"secret/paved-bench/s49#k"`
	S50 secrets.Secret `secret:"secret/paved-bench/s50#k"`
}

// bench50Keys has 50 references to keys of one secret.
type bench50Keys struct {
	K01 secrets.Secret `secret:"secret/paved-bench/all#k01"`
	K02 secrets.Secret `secret:"secret/paved-bench/all#k02"`
	K03 secrets.Secret `secret:"secret/paved-bench/all#k03"`
	K04 secrets.Secret `secret:"secret/paved-bench/all#k04"`
	K05 secrets.Secret `secret:"secret/paved-bench/all#k05"`
	K06 secrets.Secret `secret:"secret/paved-bench/all#k06"`
	K07 secrets.Secret `secret:"secret/paved-bench/all#k07"`
	K08 secrets.Secret `secret:"secret/paved-bench/all#k08"`
	K09 secrets.Secret `secret:"secret/paved-bench/all#k09"`
	K10 secrets.Secret `secret:"secret/paved-bench/all#k10"`
	K11 secrets.Secret `secret:"secret/paved-bench/all#k11"`
	K12 secrets.Secret `secret:"secret/paved-bench/all#k12"`
	K13 secrets.Secret `secret:"secret/paved-bench/all#k13"`
	K14 secrets.Secret `secret:"secret/paved-bench/all#k14"`
	K15 secrets.Secret `secret:"secret/paved-bench/all#k15"`
	K16 secrets.Secret `secret:"secret/paved-bench/all#k16"`
	K17 secrets.Secret `secret:"secret/paved-bench/all#k17"`
	K18 secrets.Secret `secret:"secret/paved-bench/all#k18"`
	K19 secrets.Secret `secret:"secret/paved-bench/all#k19"`
	K20 secrets.Secret `secret:"secret/paved-bench/all#k20"`
	K21 secrets.Secret `secret:"secret/paved-bench/all#k21"`
	K22 secrets.Secret `secret:"secret/paved-bench/all#k22"`
	K23 secrets.Secret `secret:"secret/paved-bench/all#k23"`
	K24 secrets.Secret `secret:"secret/paved-bench/all#k24"`
	K25 secrets.Secret `secret:"secret/paved-bench/all#k25"`
	K26 secrets.Secret `secret:"secret/paved-bench/all#k26"`
	K27 secrets.Secret `secret:"secret/paved-bench/all#k27"`
	K28 secrets.Secret `secret:"secret/paved-bench/all#k28"`
	K29 secrets.Secret `secret:"secret/paved-bench/all#k29"`
	K30 secrets.Secret `secret:"secret/paved-bench/all#k30"`
	K31 secrets.Secret `secret:"secret/paved-bench/all#k31"`
	K32 secrets.Secret `secret:"secret/paved-bench/all#k32"`
	K33 secrets.Secret `secret:"secret/paved-bench/all#k33"`
	K34 secrets.Secret `secret:"secret/paved-bench/all#k34"`
	K35 secrets.Secret `secret:"secret/paved-bench/all#k35"`
	K36 secrets.Secret `secret:"secret/paved-bench/all#k36"`
	K37 secrets.Secret `secret:"secret/paved-bench/all#k37"`
	K38 secrets.Secret `secret:"secret/paved-bench/all#k38"`
	K39 secrets.Secret `secret:"secret/paved-bench/all#k39"`
	K40 secrets.Secret `secret:"secret/paved-bench/all#k40"`
	K41 secrets.Secret `secret:"secret/paved-bench/all#k41"`
	K42 secrets.Secret `secret:"secret/paved-bench/all#k42"`
	K43 secrets.Secret `secret:"secret/paved-bench/all#k43"`
	K44 secrets.Secret `secret:"secret/paved-bench/all#k44"`
	K45 secrets.Secret `secret:"secret/paved-bench/all#k45"`
	K46 secrets.Secret `secret:"secret/paved-bench/all#k46"`
	K47 secrets.Secret `secret:"secret/paved-bench/all#k47"`
	K48 secrets.Secret `secret:"secret/paved-bench/all#k48"`
	K49 secrets.Secret `secret:"secret/paved-bench/all#k49"`
	K50 secrets.Secret `secret:"secret/paved-bench/all#k50"`
}

// BenchmarkInject50VsOneRead: Inject of 50 KV references against the
// Vault dev server, against one read, each on a fresh client (login
// excluded from the timing).
func BenchmarkInject50VsOneRead(b *testing.B) {
	v := testenv.RequireVault(b)
	vb, err := secrets.NewVaultBackend(secrets.VaultConfig{Address: v.Addr})
	if err != nil {
		b.Fatal(err)
	}
	for i := 1; i <= 50; i++ {
		if _, err := vb.Write(context.Background(), v.Token, fmt.Sprintf("secret/data/paved-bench/s%02d", i), map[string]any{"data": map[string]any{"k": "v"}}); err != nil {
			b.Fatal(err)
		}
	}
	all := map[string]any{}
	for i := 1; i <= 50; i++ {
		all[fmt.Sprintf("k%02d", i)] = "v"
	}
	if _, err := vb.Write(context.Background(), v.Token, "secret/data/paved-bench/all", map[string]any{"data": all}); err != nil {
		b.Fatal(err)
	}
	conc := 0
	newClient := func(b *testing.B) *secrets.Client {
		c, err := secrets.New(context.Background(), secrets.Config{Backend: vb, Login: secrets.TokenLogin{Token: secrets.NewSecret(v.Token)}, InjectConcurrency: conc,
			OptOuts: []paved.OptOut{secrets.AllowStaticToken("benchmark")}, Posture: &paved.Posture{}, Logger: quietLogger(), RetryCap: time.Second})
		if err != nil {
			b.Fatal(err)
		}
		return c
	}
	b.Run("one-read", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			b.StopTimer()
			c := newClient(b)
			b.StartTimer()
			if _, err := c.Get(context.Background(), "secret/paved-bench/s01#k"); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = c.Close(context.Background())
			b.StartTimer()
		}
	})
	// inject-50 uses the default concurrency (16); inject-50-serial one
	// read at a time, which shows how much the server overlaps.
	for _, bc := range []struct {
		name string
		conc int
		keys bool
	}{{"inject-50", 0, false}, {"inject-50-serial", 1, false}, {"inject-50-keys-of-one-secret", 0, true}} {
		b.Run(bc.name, func(b *testing.B) {
			conc = bc.conc
			b.ReportAllocs()
			for b.Loop() {
				b.StopTimer()
				c := newClient(b)
				var dst any = &bench50{}
				if bc.keys {
					dst = &bench50Keys{}
				}
				b.StartTimer()
				if err := c.Inject(context.Background(), dst); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				_ = c.Close(context.Background())
				b.StartTimer()
			}
		})
	}
}
