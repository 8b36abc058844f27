"""The web application: aiohttp routes, typed process services, one call's session and
pipeline, the records API, and the process's runtime tuning and supervision.

    server        create_app, what starts and stops with the app, drain
    process       one server process's life: listen, signals, drain, stop
    services      Services: what every call shares (config, graphs, Twilio REST, records, cache)
    webhooks      Twilio's voice webhooks (/twiml), answered with TwiML; future Twilio callbacks
    media_stream  /ws: Twilio's media stream, one CallSession per socket
    health        /health and /metrics
    records_api   /calls: call records as JSON (ADMIN_TOKEN)
    call_session  one call from the socket's first message to the pipeline's end
    pipeline      one call's pipeline: transport, controller, the graph's chain, the pacer
    metrics, gc_tuning, loop_lag, supervisor   observability and runtime tuning

A new HTTP page (a dashboard) is a module of its own with `add_routes(app)`, added in
`server.create_app`.
"""
