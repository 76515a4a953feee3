%% zbench: the BEAM side of zbeam's scheduler bench (tools/hosted, `make bench`).
%%
%% Each workload mirrors a zbeam workload of tools/hosted/src/controllers.rs (or the
%% ring of kernel/crates/images) as closely as Erlang allows, so the two columns of
%% the table measure the same thing. Run as
%%   erl -noshell +S N -pa DIR -run zbench main RUNS SPEC... -s init stop
%% where SPEC is name:arg:arg..., e.g. ring:1000:1000000. For each SPEC it runs the
%% workload RUNS times and prints one line "SPEC v1 v2 ..." with the figure of each
%% run (the Rust side takes the median).
-module(zbench).
-export([main/1]).

main([Runs | Specs]) ->
    N = list_to_integer(Runs),
    lists:foreach(fun(Spec) -> run_spec(Spec, N) end, Specs),
    halt(0).

run_spec(Spec, Runs) ->
    [Name | Args] = string:split(Spec, ":", all),
    Ints = [list_to_integer(A) || A <- Args],
    Vals = [one(Name, Ints) || _ <- lists:seq(1, Runs)],
    io:format("~s~s~n", [Spec, [io_lib:format(" ~.6f", [float(V)]) || V <- Vals]]).

now_us() -> erlang:monotonic_time(microsecond).

%% Runs F in a fresh process bound to scheduler 1 and returns its result, so every
%% workload starts from the same run queue, as the zbeam controllers do (core 0).
on_scheduler_1(F) ->
    Me = self(),
    Ref = make_ref(),
    erlang:spawn_opt(fun() -> Me ! {Ref, F()} end, [{scheduler, 1}]),
    receive {Ref, R} -> R end.

one("ring", [N, Hops]) -> on_scheduler_1(fun() -> ring(N, Hops) end);
one("spawn", [N, Window]) -> on_scheduler_1(fun() -> spawn_storm(N, Window) end);
one("pingpong", [Rounds, Warmup, PongSched]) ->
    on_scheduler_1(fun() -> ping_pong(Rounds, Warmup, PongSched) end);
one("worker", [Iters]) -> on_scheduler_1(fun() -> workers(1, Iters) end);
one("skew", [Workers, Iters]) -> on_scheduler_1(fun() -> workers(Workers, Iters) end);
one("timers", [Procs, Rounds, Quantile]) ->
    on_scheduler_1(fun() -> timers(Procs, Rounds, Quantile) end).

%% Ring: N nodes, one token, Hops hops; each node checks that every token it sees is
%% N after the previous one (as programs/ring.asm does). Result: ns per hop.
ring(N, Hops) ->
    Me = self(),
    Pids = [spawn(fun() -> ring_setup(Me, N, Hops) end) || _ <- lists:seq(1, N)],
    Nexts = tl(Pids) ++ [hd(Pids)],
    lists:foreach(fun({P, Next}) -> P ! {next, Next} end, lists:zip(Pids, Nexts)),
    T0 = now_us(),
    hd(Pids) ! {tok, 0},
    receive
        {done, Hops} -> ok;
        {error, S} -> erlang:error({ring_error, S})
    end,
    T = now_us() - T0,
    [P ! stop || P <- Pids],
    T * 1000 / Hops.

ring_setup(Ctl, N, Total) ->
    receive {next, Next} -> ring_node(Ctl, Next, N, Total, none) end.

ring_node(Ctl, Next, N, Total, Last) ->
    receive
        {tok, S} when Last =/= none, S =/= Last + N ->
            Ctl ! {error, S},
            ring_node(Ctl, Next, N, Total, S);
        {tok, S} when S + 1 =:= Total ->
            Ctl ! {done, S + 1},
            ring_node(Ctl, Next, N, Total, S);
        {tok, S} ->
            Next ! {tok, S + 1},
            ring_node(Ctl, Next, N, Total, S);
        stop ->
            ok
    end.

%% Spawn: N children, at most Window outstanding; each sends one message back and
%% exits (programs/ack.asm). Result: microseconds per process.
spawn_storm(N, Window) ->
    Me = self(),
    T0 = now_us(),
    spawn_loop(Me, N, Window, 0, 0),
    (now_us() - T0) / N.

spawn_loop(_Me, N, _W, _Spawned, N) ->
    ok;
spawn_loop(Me, N, W, Spawned, Acked) when Spawned < N, Spawned - Acked < W ->
    spawn(fun() -> Me ! ack end),
    spawn_loop(Me, N, W, Spawned + 1, Acked);
spawn_loop(Me, N, W, Spawned, Acked) ->
    receive ack -> spawn_loop(Me, N, W, Spawned, Acked + 1) end.

%% Ping-pong: the caller (on scheduler 1) bounces a counter off a responder bound
%% to scheduler PongSched. Result: microseconds per round trip.
ping_pong(Rounds, Warmup, PongSched) ->
    Pong = erlang:spawn_opt(fun pong/0, [{scheduler, PongSched}]),
    ping(Pong, 0, Warmup),
    T0 = now_us(),
    ping(Pong, Warmup, Warmup + Rounds),
    T = now_us() - T0,
    Pong ! stop,
    T / Rounds.

ping(_Pong, End, End) ->
    ok;
ping(Pong, I, End) ->
    Pong ! {self(), I},
    receive I -> ping(Pong, I + 1, End) end.

pong() ->
    receive
        {From, I} ->
            From ! I,
            pong();
        stop ->
            ok
    end.

%% CPU-bound workers started on this scheduler: Workers processes each counting
%% down Iters. Result: milliseconds until the last one finishes.
workers(Workers, Iters) ->
    Me = self(),
    T0 = now_us(),
    [spawn(fun() -> count_down(Iters), Me ! finished end) || _ <- lists:seq(1, Workers)],
    [receive finished -> ok end || _ <- lists:seq(1, Workers)],
    (now_us() - T0) / 1000.

count_down(0) -> ok;
count_down(N) -> count_down(N - 1).

%% Timers: Procs processes each timing Rounds waits of 1..100 ms with the same delay
%% sequence as programs/timehist.asm (first 1 + 37i mod 100, step 1 + 13i mod 97),
%% measured in whole milliseconds like zbeam's TIME call. Result: the Quantile-th
%% per-mille lateness in ms; an early wait makes the result -1.
timers(Procs, Rounds, Quantile) ->
    Me = self(),
    [spawn(fun() -> Me ! {lateness, timer_proc(1 + (I * 37) rem 100, 1 + (I * 13) rem 97, Rounds, [])} end)
     || I <- lists:seq(0, Procs - 1)],
    All = lists:append([receive {lateness, L} -> L end || _ <- lists:seq(1, Procs)]),
    case lists:any(fun(L) -> L < 0 end, All) of
        true -> -1;
        false ->
            Sorted = lists:sort(All),
            Ix = max(1, ceil(Quantile * length(Sorted) / 1000)),
            lists:nth(Ix, Sorted)
    end.

timer_proc(_D, _Step, 0, Acc) ->
    Acc;
timer_proc(D, Step, Left, Acc) ->
    T0 = erlang:monotonic_time(millisecond),
    receive after D -> ok end,
    Late = erlang:monotonic_time(millisecond) - T0 - D,
    D1 = case D + Step of X when X > 100 -> X - 100; X -> X end,
    timer_proc(D1, Step, Left - 1, [Late | Acc]).
