package rand

import (
	mrand "math/rand"
	"math/rand/v2"
	"strconv"
	"time"
)

type session struct {
	ID    string
	Color int
}

func tokens() {
	token := strconv.Itoa(mrand.Int()) // want `PAV105: math/rand.Int feeds token`
	_ = token
	var sessionKey = rand.Uint64() // want `PAV105: math/rand/v2.Uint64 feeds sessionKey`
	_ = sessionKey
	s := session{ID: strconv.FormatUint(rand.Uint64(), 36)} // want `PAV105: math/rand/v2.Uint64 feeds ID`
	s.Color = rand.IntN(8)
	// Jitter, shuffles and samples are what math/rand is for (gosec's G404 reports them).
	jitter := time.Duration(rand.Int64N(int64(time.Second)))
	_ = jitter
	xs := []int{1, 2, 3}
	rand.Shuffle(len(xs), func(i, j int) { xs[i], xs[j] = xs[j], xs[i] })
	valid := rand.IntN(2) == 0
	_ = valid
}

func newNonce() uint64 {
	return rand.Uint64() // want `PAV105: math/rand/v2.Uint64 feeds newNonce`
}

// Read fills its argument: the buffer's name, or the function's, says
// what the bytes are for.
func newKey() []byte {
	b := make([]byte, 32)
	mrand.Read(b) // want `PAV105: math/rand.Read feeds newKey`
	return b
}

func fill(r *mrand.Rand) {
	var secret [16]byte
	r.Read(secret[:]) // want `PAV105: math/rand.Read feeds secret`
	noise := make([]byte, 8)
	r.Read(noise)
}
