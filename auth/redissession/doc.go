// Package redissession keeps browser sessions of [auth.Login] in Redis,
// so every replica of a service sees the same sessions and a logout on
// one replica ends the session on all of them: the logout deletes it, and
// a renewal running elsewhere at that moment stores its result with SET
// XX ([Store.Replace]), which fails for the deleted key, so the renewal
// ends the session instead of bringing it back.
//
// It lives apart from package auth so that a service that keeps its
// sessions in cookies never links go-redis. [New] takes a [Config] with
// any go-redis client ([Client] is the four calls it makes: GET, SET,
// SET XX, DEL) and returns a [Store] to put in auth.LoginConfig.Store.
// Build the client with ContextTimeoutEnabled, without which go-redis
// ignores [Config].Timeout (New refuses a *redis.Client,
// *redis.ClusterClient or *redis.Ring without it):
//
//	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:6379", ContextTimeoutEnabled: true})
//	store, err := redissession.New(redissession.Config{Client: rdb})
//	...
//	login, err := auth.NewLogin(ctx, auth.LoginConfig{..., Store: store})
//
// The login seals each session with its cookie keys before saving it, so
// Redis holds no token in clear; the cookie holds only a sealed session
// ID. A Redis error or timeout while reading a session is no session
// (fail closed: 401, or a redirect to sign in); at sign-in it is 503; at
// logout it is 503 with reason "session_store_error", since the session
// may not have been deleted.
//
// Two replicas that renew one session at the same moment can still both
// spend its refresh token: the store shares the result of a renewal once
// it is saved, but it does not lock. See auth.Login.Middleware.
package redissession
