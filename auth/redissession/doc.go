// Package redissession keeps browser sessions of [auth.Login] in Redis,
// so every replica of a service sees the same sessions and a logout
// revokes a session everywhere.
//
// It lives apart from package auth so that a service that keeps its
// sessions in cookies never links go-redis. [New] takes a [Config] with
// any go-redis client ([Client] is the three calls it makes: GET, SET,
// DEL) and returns a [Store] to put in auth.LoginConfig.Store:
//
//	store, err := redissession.New(redissession.Config{Client: rdb})
//	...
//	login, err := auth.NewLogin(ctx, auth.LoginConfig{..., Store: store})
//
// The login seals each session with its cookie keys before saving it, so
// Redis holds no token in clear; the cookie holds only a sealed session
// ID. A Redis error or timeout is no session: the user signs in again
// (fail closed).
//
// Two replicas that renew one session at the same moment can still both
// spend its refresh token: the store shares the result of a renewal once
// it is saved, but it does not lock. See auth.Login.Middleware.
package redissession
