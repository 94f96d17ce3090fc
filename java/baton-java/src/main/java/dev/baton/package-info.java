/**
 * baton: leader election for fleets of identical services, on the Redis you already run.
 *
 * <p>Start with {@link dev.baton.LeaderElection#builder(String, String)}. Each named election
 * has at most one leader at a time; {@link dev.baton.LeaderElection#isLeader()} is cheap enough
 * to call on every loop iteration, and {@link dev.baton.LeaderElection#fencingToken()} gives the
 * token to pass to the resource you write to, so it can refuse a leader that was replaced.
 *
 * <p>The native library ships inside this jar and is loaded by {@link dev.baton.NativeLoader}.
 */
package dev.baton;
