# Generates crates/tollgate-server/src/console/openapi.json (the console API's OpenAPI 3 document).
# Usage: python3 scripts/gen-openapi.py > crates/tollgate-server/src/console/openapi.json
import json
PLATFORMS=["anthropic","openai","gemini","antigravity"]
SOURCES=["email","linuxdo","oidc","wechat","github","google","dingtalk"]
WINDOWS=["five_hour","daily","weekly","monthly"]
ref=lambda n:{"$ref":f"#/components/schemas/{n}"}
money={"type":"number","minimum":0,"description":"USD, exact, at most 9 decimals"}
limit={"type":"number","minimum":0,"nullable":True,"description":"null = unlimited, 0 = disabled"}
time={"type":"string","format":"date-time"}
def obj(props,required=()):
    o={"type":"object","properties":props}
    if required: o["required"]=list(required)
    return o
def R(o,*optional):
    return {**o,"required":[k for k in o["properties"] if k not in optional]}
ro=lambda props:R(obj(props))
def body(schema,required=True):
    return {"required":required,"content":{"application/json":{"schema":schema}}}
def ok(schema,code="200",desc="OK"):
    return {code:{"description":desc,"content":{"application/json":{"schema":schema}}}}
def errs(*codes):
    d={"400":"invalid input","401":"no session","403":"forbidden (not an admin, or CSRF)","404":"not found","409":"conflict","415":"the body is not application/json","429":"too many attempts","503":"database unavailable"}
    return {c:{"description":d[c],"content":{"application/json":{"schema":ref("Error")}}} for c in codes}
def op(summary,tag,responses,req=None,params=None,public=False):
    o={"summary":summary,"tags":[tag],"responses":responses}
    if req:
        o["requestBody"]=req
        # Console writes take only application/json (docs/security.md).
        responses["415"]={"description":"the body is not application/json","content":{"application/json":{"schema":ref("Error")}}}
    if params: o["parameters"]=params
    if public: o["security"]=[]
    return o
idp=lambda name,desc:{"name":name,"in":"path","required":True,"schema":{"type":"integer","minimum":1},"description":desc}
q=lambda name,schema,desc:{"name":name,"in":"query","required":False,"schema":schema,"description":desc}
view_props={"platform":{"type":"string","enum":PLATFORMS}}
for w in WINDOWS:
    view_props[f"{w}_limit_usd"]=limit
    view_props[f"{w}_usage_usd"]=money
    view_props[f"{w}_resets_at"]={**time,"nullable":True}
    view_props[f"{w}_topup_usd"]={**money,"description":"an admin's extra allowance for the current window"}
    view_props[f"{w}_remaining_usd"]={**limit,"description":"limit + top-up - usage; null = unlimited"}
window_starts={f"{w}_window_start":{**time,"nullable":True} for w in WINDOWS}
limits_item=obj({"platform":{"type":"string","enum":PLATFORMS},**{f"{w}_limit_usd":limit for w in WINDOWS}},["platform"])
window_limits=obj({w:limit for w in WINDOWS})
named={}
def named_as(n,schema):
    named[n]=schema
    return ref(n)
layer=named_as("QuotaLayer",{"type":"object","additionalProperties":window_limits,"description":"platform -> window limits; missing = null"})
oauth_cfg={"type":"object","nullable":True,"properties":{k:{"type":"string"} for k in ["client_id","client_secret","discovery_url","authorize_url","token_url","userinfo_url","scopes","redirect_url"]},"description":"{} = not configured; client_secret is write-only (absent keeps the stored one)"}
oauth_cfg["properties"]["client_secret_set"]={"type":"boolean","readOnly":True}
oauth_cfg=named_as("OAuthConfig",oauth_cfg)
settings_props={"default_platform_quotas":layer}
for s in SOURCES: settings_props[f"auth_source_default_{s}_platform_quotas"]=layer
rate_value={"type":"integer","minimum":1,"maximum":1000000000,"nullable":True,"description":"null = unlimited (in a defaults layer: inherited)"}
rate_limit=obj({"rpm":rate_value,"tpm":rate_value,"concurrency":rate_value})
rate_layer=named_as("RateLayer",{"type":"object","additionalProperties":rate_limit,"description":"platform -> rate limits (docs/rate-limits.md); missing = null"})
settings_props["default_rate_limits"]=rate_layer
for s in SOURCES: settings_props[f"auth_source_default_{s}_rate_limits"]=rate_layer
settings_props.update({"quota_timezone":{"type":"string","description":"IANA zone name"},"monthly_window":{"type":"string","enum":["calendar","rolling_30d"]},"quota_enforcement":{"type":"string","enum":["soft","strict"]},"registration_enabled":{"type":"boolean"}})
for s in SOURCES[1:]: settings_props[f"oauth_{s}"]=oauth_cfg
settings_props["unknown_model_pricing"]={"type":"string","enum":["fallback","reject"],"description":"a model without a price: charged at the platform's fallback price, or refused (docs/pricing.md)"}
settings_props["request_log_retention_days"]={"type":"integer","minimum":0,"maximum":3650,"nullable":True,"description":"null or 0 = kept forever; else whole days from 7 to 3650 (docs/request-log.md)"}
settings_props["alert_thresholds"]={"type":"array","maxItems":10,"items":{"type":"integer","minimum":1,"maximum":100},"description":"percent of a capped window at which to alert; default [80,100]"}
settings_props["alert_webhook"]=named_as("AlertWebhook",{"type":"object","nullable":True,"properties":{"url":{"type":"string","format":"uri"},"secret":{"type":"string","writeOnly":True},"secret_set":{"type":"boolean","readOnly":True}},"description":"{} = not configured; secret is write-only (absent keeps the stored one)"})
settings_props["alert_email"]=named_as("AlertEmail",{"type":"object","nullable":True,"properties":{"smtp_host":{"type":"string"},"smtp_port":{"type":"integer","minimum":1,"maximum":65535},"tls":{"type":"string","enum":["none","starttls","tls"]},"username":{"type":"string"},"password":{"type":"string","writeOnly":True},"password_set":{"type":"boolean","readOnly":True},"from":{"type":"string"},"notify_admins":{"type":"boolean"}},"description":"{} = not configured; password is write-only (absent keeps the stored one)"})
settings_in={"type":"object","properties":{k:({"nullable":True,"allOf":[v]} if "$ref" in v else {**v,"nullable":True}) for k,v in settings_props.items()},"additionalProperties":False}
price_in=obj({"platform":{"type":"string","enum":PLATFORMS},"input_per_mtok":money,"output_per_mtok":money,"cache_read_per_mtok":{**money,"nullable":True},"cache_write_5m_per_mtok":{**money,"nullable":True},"cache_write_1h_per_mtok":{**money,"nullable":True},"long_context":{"type":"object","nullable":True,"properties":{"threshold_tokens":{"type":"integer","minimum":0},"input_per_mtok":money,"output_per_mtok":money,**{k:{**money,"nullable":True,"description":"derived from this tier's input when null"} for k in ["cache_read_per_mtok","cache_write_5m_per_mtok","cache_write_1h_per_mtok"]}},"required":["threshold_tokens","input_per_mtok","output_per_mtok"]},"tool_fees":obj({k:{**money,"nullable":True,"description":"USD per 1,000 calls"} for k in ["web_search_per_1k","web_fetch_per_1k","file_search_per_1k","code_execution_per_1k"]}),"covers":{"type":"array","items":{"type":"string","enum":["audio_input","image_output","audio_output"]},"description":"media priced above text whose provider rates this price's rates are at least; requests asking for another are refused"},"source_url":{"type":"string","maxLength":500,"nullable":True,"description":"where the price was read"},"as_of":{"type":"string","maxLength":40,"nullable":True,"description":"when the price was checked"}},["platform","input_per_mtok","output_per_mtok"])
schemas={
 "Error":obj({"error":obj({"code":{"type":"string"},"message":{"type":"string"},"field":{"type":"string"}},["code","message"])},["error"]),
 "User":obj({"id":{"type":"integer"},"email":{"type":"string"},"display_name":{"type":"string"},"role":{"type":"string","enum":["admin","user"]},"status":{"type":"string","enum":["active","disabled"]},"auth_source":{"type":"string","enum":SOURCES},"cost_multiplier":money,"created_at":time},["id","email","display_name","role","status","auth_source","cost_multiplier","created_at"]),
 "Login":obj({"token":{"type":"string"},"user":ref("User")},["token","user"]),
 "QuotaView":R(obj(view_props)),
 "AdminQuotaView":{"allOf":[ref("QuotaView"),ro(window_starts)]},
 "KeyQuotaView":{"allOf":[ref("QuotaView"),obj(window_starts)],"description":"window starts in the admin routes only"},
 "PlatformLimits":limits_item,
 "PlatformLimitsOut":R(limits_item),
 "QuotaViews":obj({"platform_quotas":{"type":"array","items":ref("QuotaView")}},["platform_quotas"]),
 "AdminQuotaViews":obj({"platform_quotas":{"type":"array","items":ref("AdminQuotaView")}},["platform_quotas"]),
 "Settings":obj({"settings":R(obj(settings_props))},["settings"]),
 "SettingsChanges":settings_in,
 "Upstream":R(obj({"id":{"type":"integer"},"platform":{"type":"string","enum":PLATFORMS},"name":{"type":"string"},"base_url":{"type":"string"},"api_key_masked":{"type":"string"},"enabled":{"type":"boolean"},"priority":{"type":"integer"},"protocol":{"type":"string","enum":["native","v1internal"]}})),
 "UpstreamInput":obj({"platform":{"type":"string","enum":PLATFORMS},"name":{"type":"string","minLength":1,"maxLength":100},"base_url":{"type":"string","format":"uri"},"api_key":{"type":"string","minLength":1,"writeOnly":True},"enabled":{"type":"boolean"},"priority":{"type":"integer","minimum":-1000000,"maximum":1000000},"protocol":{"type":"string","enum":["native","v1internal"],"description":"v1internal only for antigravity"}}),
 "PriceInput":price_in,
 "ModelPrice":{"allOf":[ref("PriceInput"),R(obj({"model":{"type":"string"},"source":{"type":"string","enum":["builtin","override"]}}))]},
 "ApiKey":R(obj({"id":{"type":"integer"},"name":{"type":"string"},"prefix":{"type":"string"},"platforms":{"type":"array","nullable":True,"items":{"type":"string","enum":PLATFORMS}},"created_at":time,"last_used_at":{**time,"nullable":True},"secret":{"type":"string","description":"only in the POST response"},"lifetime_limit_usd":{**limit,"description":"the key's budget over its life, all platforms; null = none"},"lifetime_usage_usd":money,"lifetime_remaining_usd":{**limit},"platform_quotas":{"type":"array","items":ref("KeyQuotaView"),"description":"the key's own rows (window starts in the admin routes only)"}}),"secret"),
 "KeyQuotas":obj({"quotas":{"type":"array","items":ref("PlatformLimits"),"description":"absent = none; platforms left out lose their key limits"},"lifetime_limit_usd":limit}),
 "TopUp":obj({"platform":{"type":"string","enum":PLATFORMS},"window":{"type":"string","enum":WINDOWS},"amount_usd":{**money,"exclusiveMinimum":True}},["platform","window","amount_usd"]),
 "Language":obj({"language":{"type":"string","enum":["en","zh"]}},["language"]),
 "Notice":R(obj({"id":{"type":"integer"},"kind":{"type":"string","enum":["quota_alert"]},"payload":R(obj({"alert_id":{"type":"integer"},"platform":{"type":"string","enum":PLATFORMS},"window":{"type":"string"},"threshold":{"type":"integer"},"usage_usd":{"type":"string"},"limit_usd":{"type":"string"},"window_start":time,"resets_at":{**time,"nullable":True},"created_at":time})),"created_at":time,"read_at":{**time,"nullable":True}})),
 "Alert":R(obj({"id":{"type":"integer"},"user_id":{"type":"integer"},"user_email":{"type":"string"},"platform":{"type":"string","enum":PLATFORMS},"window":{"type":"string"},"threshold":{"type":"integer"},"usage_usd":{"type":"string"},"limit_usd":{"type":"string"},"window_start":time,"resets_at":{**time,"nullable":True},"created_at":time,"deliveries":{"type":"array","items":R(obj({"id":{"type":"integer"},"channel":{"type":"string","enum":["webhook","email"]},"recipient":{"type":"string"},"state":{"type":"string","enum":["pending","delivered","dead"]},"attempts":{"type":"integer"},"next_attempt_at":{**time,"nullable":True},"delivered_at":{**time,"nullable":True},"last_error":{"type":"string","nullable":True}}))}})),
}
schemas["RateLimitEntry"]=obj({"platform":{"type":"string","enum":PLATFORMS},"rpm":rate_value,"tpm":rate_value,"concurrency":rate_value},["platform"])
schemas["RateLimitsInput"]=obj({"rate_limits":{"type":"array","items":ref("RateLimitEntry"),"description":"full replacement; platforms left out inherit (user) or have no key-level limit (key)"}},["rate_limits"])
schemas["RateLimitValues"]=R(schemas["RateLimitEntry"])
schemas["UserRateLimits"]=obj({"user_id":{"type":"integer"},"overrides":{"type":"array","items":ref("RateLimitValues")},"defaults":{"type":"array","items":ref("RateLimitValues")},"effective":{"type":"array","items":ref("RateLimitValues")}},["user_id","overrides","defaults","effective"])
schemas["KeyRateLimits"]=obj({"api_key_id":{"type":"integer"},"rate_limits":{"type":"array","items":ref("RateLimitValues")}},["api_key_id","rate_limits"])
schemas["CreatedApiKey"]={"allOf":[ref("ApiKey"),{"required":["secret"]}]}
schemas["UpstreamCreate"]={"allOf":[ref("UpstreamInput"),{"required":["platform","name","base_url","api_key"]}]}

# The request log and the analytics charts (docs/request-log.md).
int_or_null={"type":"integer","nullable":True}
str_or_null={"type":"string","nullable":True}
log_entry=R(obj({"request_id":{"type":"string","description":"the settlement id (x-tollgate-request-id)"},"client_request_id":{**str_or_null,"description":"the client's x-request-id"},"at":time,"user_id":int_or_null,"user_email":str_or_null,"api_key_id":int_or_null,"key_name":str_or_null,"platform":{"type":"string","enum":PLATFORMS},"route":str_or_null,"model":str_or_null,"outcome":{"type":"string","description":"ok for a charged answer, else the refusal's error code, not_billed or upstream_error"},"http_status":int_or_null,"charged":{"type":"boolean"},"input_tokens":{"type":"integer"},"output_tokens":{"type":"integer"},"cache_read_tokens":{"type":"integer"},"cache_write_tokens":{"type":"integer"},"cost_usd":money,"estimated":{"type":"boolean"},"latency_ms":{"type":"integer"},"ttfb_ms":int_or_null,"upstream_id":{"type":"integer","description":"admin view only"},"upstream_name":{"type":"string","description":"admin view only"}}),"upstream_id","upstream_name")
log_page=obj({"entries":{"type":"array","items":ref("RequestLogEntry")},"next_cursor":{**str_or_null,"description":"pass as cursor for the next (older) page"}},["entries","next_cursor"])
log_params=lambda admin:([q("user_id",{"type":"integer","minimum":1},"only this user's requests")] if admin else [])+[q("key_id",{"type":"integer","minimum":1},"only this key's requests"),q("platform",{"type":"string","enum":PLATFORMS},"only this platform"),q("model",{"type":"string"},"only this model (as requested)"),q("status",{"type":"string","pattern":"^([1-5][0-9][0-9]|[1-5]xx)$"},"an HTTP status (429) or a class (4xx)"),q("request_id",{"type":"string"},"Tollgate's or the client's request id"),q("from",{"type":"string"},"RFC 3339 instant, or a date in the quota time zone"),q("to",{"type":"string"},"RFC 3339 instant (exclusive), or a date (inclusive)"),q("cursor",{"type":"string"},"next_cursor of the previous page"),q("limit",{"type":"integer","minimum":1,"maximum":500,"default":50},"page size")]
csv_ok={"200":{"description":"CSV, streamed; same columns as the JSON entries","content":{"text/csv":{"schema":{"type":"string"}}}}}
totals={"cost_usd":money,"requests":{"type":"integer"},"input_tokens":{"type":"integer"},"output_tokens":{"type":"integer"},"cache_tokens":{"type":"integer"}}
for name,extra in [("AnalyticsDay",{"date":{"type":"string","format":"date"}}),("AnalyticsModel",{"platform":{"type":"string"},"model":{"type":"string"}}),("AnalyticsKey",{"api_key_id":int_or_null,"key_name":str_or_null,"user_email":str_or_null}),("AnalyticsUser",{"user_id":{"type":"integer"},"email":str_or_null})]:
    schemas[name]=ro({**extra,**totals})
schemas["UsageTotals"]=ro(totals)
schemas["Analytics"]=ro({"days":{"type":"integer"},"timezone":{"type":"string"},"total":ref("UsageTotals"),"by_day":{"type":"array","items":ref("AnalyticsDay")},"by_model":{"type":"array","items":ref("AnalyticsModel")},"by_key":{"type":"array","items":ref("AnalyticsKey")}})
schemas["AdminAnalytics"]={"allOf":[ref("Analytics"),ro({"top_users":{"type":"array","items":ref("AnalyticsUser")}})]}
schemas["RequestLogEntry"]=log_entry
schemas["RequestLogPage"]=log_page
analytics=lambda admin:ref("AdminAnalytics" if admin else "Analytics")
days_param=[q("days",{"type":"integer","minimum":1,"maximum":366,"default":30},"days, today included")]
paths={
 "/openapi.json":{"get":op("This document","meta",{"200":{"description":"OpenAPI 3 document","content":{"application/json":{"schema":{"type":"object"}}}}},public=True)},
 "/meta":{"get":op("Platforms, windows, auth sources, login methods","meta",ok(ro({"platforms":{"type":"array","items":{"type":"string"}},"windows":{"type":"array","items":{"type":"string","enum":WINDOWS}},"auth_sources":{"type":"array","items":{"type":"string"}},"login":ro({"password":{"type":"boolean"},"registration":{"type":"boolean"},"oauth":{"type":"array","items":{"type":"string"}}}),"version":{"type":"string"}})),public=True)},
 "/auth/login":{"post":op("Sign in; sets tollgate_session (HttpOnly) and tollgate_csrf cookies","auth",{**ok(ref("Login")),**errs("400","401","403","429")},body(obj({"email":{"type":"string"},"password":{"type":"string"}},["email","password"])),public=True)},
 "/auth/logout":{"post":op("End the session","auth",{**ok(obj({})),**errs("401","403")},body(obj({}),False))},
 "/auth/register":{"post":op("Email signup (when registration_enabled); snapshots the email source's defaults","auth",{**ok(ref("Login")),**errs("400","403","409")},body(obj({"email":{"type":"string","format":"email"},"password":{"type":"string","minLength":8},"display_name":{"type":"string"}},["email","password"])),public=True)},
 "/auth/oauth/{source}/start":{"get":op("Redirect to the provider (302)","auth",{"302":{"description":"to the provider"},**errs("404","503")},params=[{"name":"source","in":"path","required":True,"schema":{"type":"string","enum":SOURCES[1:]}}],public=True)},
 "/auth/oauth/{source}/callback":{"get":op("Provider callback: signs in or up, 302 to / (or /login?oauth_error=…)","auth",{"302":{"description":"to / or /login?oauth_error=reason"},**errs("404")},params=[{"name":"source","in":"path","required":True,"schema":{"type":"string","enum":SOURCES[1:]}},q("code",{"type":"string"},"authorization code"),q("authCode",{"type":"string"},"DingTalk's code"),q("state",{"type":"string"},"state from start"),q("error",{"type":"string"},"provider error")],public=True)},
 "/me":{"get":op("The signed-in user","auth",{**ok(ref("User")),**errs("401")})},
 "/admin/settings":{"get":op("All settings","admin",{**ok(ref("Settings")),**errs("401","403")}),"put":op("Replace the given keys (all validated first; null keeps)","admin",{**ok(ref("Settings")),**errs("400","401","403")},body(ref("SettingsChanges")))},
 "/admin/users":{"get":op("Users, searched and paged","admin",{**ok(ro({"users":{"type":"array","items":{"allOf":[ref("User"),ro({"platform_limits":{"type":"array","items":ref("PlatformLimitsOut")}})]}},"total":{"type":"integer"},"page":{"type":"integer"},"per_page":{"type":"integer"}})),**errs("400","401","403")},params=[q("q",{"type":"string","maxLength":200},"search"),q("page",{"type":"integer","minimum":1},"from 1"),q("per_page",{"type":"integer","minimum":1,"maximum":200},"page size")]),
   "post":op("Create a user (201)","admin",{**ok(ref("User"),"201","Created"),**errs("400","401","403","409")},body(obj({"email":{"type":"string","format":"email"},"password":{"type":"string","minLength":8},"display_name":{"type":"string"},"role":{"type":"string","enum":["admin","user"]},"auth_source":{"type":"string","enum":SOURCES},"cost_multiplier":{**money,"maximum":1000},"apply_default_quotas":{"type":"boolean","default":True}},["email"])))},
 "/admin/users/{id}":{"get":op("One user","admin",{**ok(ref("User")),**errs("401","403","404")},params=[idp("id","user id")]),"patch":op("Change a user","admin",{**ok(ref("User")),**errs("400","401","403","404")},body(obj({"display_name":{"type":"string"},"role":{"type":"string","enum":["admin","user"]},"status":{"type":"string","enum":["active","disabled"]},"cost_multiplier":{**money,"maximum":1000},"password":{"type":"string","minLength":8}})),params=[idp("id","user id")])},
 "/admin/users/{id}/platform-quotas":{"get":op("The user's quotas, admin view","admin",{**ok(ref("AdminQuotaViews")),**errs("401","403","404")},params=[idp("id","user id")]),"put":op("Replace the user's limits (full replacement)","admin",{**ok(ref("AdminQuotaViews")),**errs("400","401","403","404")},body(obj({"quotas":{"type":"array","items":ref("PlatformLimits")}},["quotas"])),params=[idp("id","user id")])},
 "/admin/users/{id}/platform-quotas/top-up":{"post":op("One-off extra allowance for the current window of a capped window (audited; the limit is not changed)","admin",{**ok(ref("AdminQuotaViews")),**errs("400","401","403","404")},body(ref("TopUp")),params=[idp("id","user id")])},
 "/admin/users/{id}/api-keys":{"get":op("The user's API keys with their budgets","admin",{**ok(ro({"api_keys":{"type":"array","items":ref("ApiKey")}})),**errs("401","403","404")},params=[idp("id","user id")])},
 "/admin/users/{id}/api-keys/{key_id}/quotas":{"put":op("Replace a key's limits and lifetime budget","admin",{**ok(ref("ApiKey")),**errs("400","401","403","404")},body(ref("KeyQuotas")),params=[idp("id","user id"),idp("key_id","key id")])},
 "/admin/users/{id}/api-keys/{key_id}/top-up":{"post":op("One-off extra allowance for the current window of a key's capped window (audited)","admin",{**ok(ref("ApiKey")),**errs("400","401","403","404")},body(ref("TopUp")),params=[idp("id","user id"),idp("key_id","key id")])},
 "/admin/users/{id}/platform-quotas/reset":{"post":op("Zero one window's usage (boundary kept)","admin",{**ok(ref("AdminQuotaViews")),**errs("400","401","403","404")},body(obj({"platform":{"type":"string","enum":PLATFORMS},"window":{"type":"string","enum":WINDOWS}},["platform","window"])),params=[idp("id","user id")])},
 "/admin/audit":{"get":op("Audit log, newest first","admin",{**ok(ro({"entries":{"type":"array","items":named_as("AuditEntry",ro({"id":{"type":"integer"},"at":time,"actor_id":{"type":"integer","nullable":True},"actor_email":{"type":"string","nullable":True},"action":{"type":"string"},"target_user_id":{"type":"integer","nullable":True},"platform":{"type":"string","nullable":True},"before":{},"after":{}}))},"total":{"type":"integer"},"page":{"type":"integer"},"per_page":{"type":"integer"}})),**errs("400","401","403")},params=[q("page",{"type":"integer","minimum":1},"from 1"),q("per_page",{"type":"integer","minimum":1,"maximum":200},"page size"),q("user_id",{"type":"integer","minimum":1},"only entries about this user")])},
 "/admin/upstreams":{"get":op("Upstream accounts (credentials masked)","admin",{**ok(ro({"upstreams":{"type":"array","items":ref("Upstream")}})),**errs("401","403")}),"post":op("Add an upstream (201)","admin",{**ok(ref("Upstream"),"201","Created"),**errs("400","401","403")},body(ref("UpstreamCreate")))},
 "/admin/upstreams/{id}":{"patch":op("Change an upstream (absent api_key keeps it)","admin",{**ok(ref("Upstream")),**errs("400","401","403","404")},body(ref("UpstreamInput")),params=[idp("id","upstream id")]),"delete":op("Remove an upstream (204)","admin",{"204":{"description":"removed"},**errs("401","403","404")},params=[idp("id","upstream id")])},
 "/admin/pricing":{"get":op("Built-in prices merged with overrides, and fallbacks","admin",{**ok(obj({"models":{"type":"array","items":ref("ModelPrice")},"fallback":{"type":"object","additionalProperties":{"nullable":True,"allOf":[ref("PriceInput")]}},"builtin_source":{"type":"array","items":{"type":"string"},"description":"where the built-in prices were read"},"builtin_as_of":{"type":"string","description":"when they were checked"}},["models","fallback","builtin_source","builtin_as_of"])),**errs("401","403")})},
 "/admin/pricing/unpriced":{"get":op("Models called without a price of their own (priced at the fallback, or refused), most recent first","admin",{**ok({"type":"array","items":obj({"model":{"type":"string"},"platform":{"type":"string","enum":PLATFORMS},"requests":{"type":"integer"},"first_seen":time,"last_seen":time},["model","platform","requests","first_seen","last_seen"])}),**errs("401","403")})},
 "/admin/pricing/import":{"post":op("Import a price file (Tollgate's table format or LiteLLM's model_prices_and_context_window.json): validated whole, returns the diff; applied (audited, one transaction) when apply is true","admin",{**ok(obj({"format":{"type":"string","enum":["tollgate","litellm"]},"skipped":{"type":"integer"},"changes":{"type":"array","items":obj({"model":{"type":"string"},"before":{"nullable":True,"allOf":[ref("PriceInput")]},"after":ref("PriceInput")},["model","before","after"])},"applied":{"type":"boolean"}},["format","skipped","changes","applied"])),**errs("400","401","403")},body(obj({"file":{"type":"string","minLength":1,"description":"the price file's text"},"apply":{"type":"boolean","default":False}},["file"])))},
 "/admin/pricing/{model}":{"put":op("Set a model's price (model URL-encoded)","admin",{**ok(ref("ModelPrice")),**errs("400","401","403")},body(ref("PriceInput")),params=[{"name":"model","in":"path","required":True,"schema":{"type":"string","minLength":1,"maxLength":200}}]),"delete":op("Remove a price override (204)","admin",{"204":{"description":"removed"},**errs("401","403","404")},params=[{"name":"model","in":"path","required":True,"schema":{"type":"string","minLength":1,"maxLength":200}}])},
 "/user/platform-quotas":{"get":op("My quotas, user view","user",{**ok(ref("QuotaViews")),**errs("401")})},
 "/user/usage":{"get":op("My daily spend per platform","user",{**ok(ro({"days":{"type":"integer"},"timezone":{"type":"string"},"series":{"type":"array","items":ro({"platform":{"type":"string"},"points":{"type":"array","items":ro({"date":{"type":"string","format":"date"},"cost_usd":money,"requests":{"type":"integer"}})}})}})),**errs("400","401")},params=[q("days",{"type":"integer","minimum":1,"maximum":366,"default":30},"days, today included")])},
 "/user/api-keys":{"get":op("My API keys","user",{**ok(ro({"api_keys":{"type":"array","items":ref("ApiKey")}})),**errs("401")}),"post":op("Create an API key; the secret is shown once (201)","user",{**ok(ref("CreatedApiKey"),"201","Created"),**errs("400","401","403","409")},body(obj({"name":{"type":"string","minLength":1,"maxLength":100},"platforms":{"type":"array","minItems":1,"uniqueItems":True,"items":{"type":"string","enum":PLATFORMS},"description":"absent = all"},"quotas":{"type":"array","items":ref("PlatformLimits"),"description":"the key's own limits"},"lifetime_limit_usd":limit},["name"])))},
 "/user/api-keys/{id}/quotas":{"put":op("Replace one of my keys' limits and lifetime budget","user",{**ok(ref("ApiKey")),**errs("400","401","403","404")},body(ref("KeyQuotas")),params=[idp("id","key id")])},
 "/user/notices":{"get":op("My notices (threshold alerts), newest first","user",{**ok(ro({"notices":{"type":"array","items":ref("Notice")},"unread":{"type":"integer"}})),**errs("401")})},
 "/user/notices/{id}/read":{"post":op("Mark one of my notices read","user",{**ok(ro({"ok":{"type":"boolean"}})),**errs("401","403","404")},params=[idp("id","notice id")])},
 "/user/notices/read-all":{"post":op("Mark all my notices read","user",{**ok(ro({"ok":{"type":"boolean"}})),**errs("401","403")})},
 "/user/language":{"get":op("My language (emails, console)","user",{**ok(ref("Language")),**errs("401")}),"put":op("Set my language","user",{**ok(ref("Language")),**errs("400","401","403")},body(ref("Language")))},
 "/admin/users/{id}/language":{"put":op("Set a user's language","admin",{**ok(ref("Language")),**errs("400","401","403","404")},body(ref("Language")),params=[idp("id","user id")])},
 "/admin/alerts":{"get":op("Recent threshold alerts with each delivery's state, newest first","admin",{**ok(ro({"alerts":{"type":"array","items":ref("Alert")}})),**errs("401","403")})},
 "/admin/users/{id}/rate-limits":{"get":op("The user's rate limits: overrides, auth-source defaults, effective","admin",{**ok(ref("UserRateLimits")),**errs("401","403","404")},params=[idp("id","user id")]),"put":op("Replace the user's rate limit overrides (audited)","admin",{**ok(ref("UserRateLimits")),**errs("400","401","403","404")},body(ref("RateLimitsInput")),params=[idp("id","user id")])},
 "/user/api-keys/{id}/rate-limits":{"get":op("A key's own rate limits (its owner, or an admin)","user",{**ok(ref("KeyRateLimits")),**errs("401","404")},params=[idp("id","key id")]),"put":op("Replace a key's rate limits (audited); its owner may only tighten them, an admin may set any","user",{**ok(ref("KeyRateLimits")),**errs("400","401","403","404")},body(ref("RateLimitsInput")),params=[idp("id","key id")])},
 "/admin/request-log":{"get":op("Request log of every gateway request (charged or not), newest first, keyset-paged","admin",{**ok(ref("RequestLogPage")),**errs("400","401","403")},params=log_params(True))},
 "/admin/request-log.csv":{"get":op("The filtered request log as CSV (streamed, at most 1,000,000 rows)","admin",{**csv_ok,**errs("400","401","403")},params=[p for p in log_params(True) if p["name"] not in ("cursor","limit")])},
 "/admin/analytics":{"get":op("Spend, requests and tokens of all users by day, model, key, and the top spenders","admin",{**ok(analytics(True)),**errs("400","401","403")},params=days_param)},
 "/user/request-log":{"get":op("My requests, newest first, keyset-paged","user",{**ok(ref("RequestLogPage")),**errs("400","401")},params=log_params(False))},
 "/user/request-log.csv":{"get":op("My filtered requests as CSV (streamed)","user",{**csv_ok,**errs("400","401")},params=[p for p in log_params(False) if p["name"] not in ("cursor","limit")])},
 "/user/analytics":{"get":op("My spend, requests and tokens by day, model and key","user",{**ok(analytics(False)),**errs("400","401")},params=days_param)},
 "/user/api-keys/{id}":{"delete":op("Revoke one of my keys (204)","user",{"204":{"description":"revoked"},**errs("401","403","404")},params=[idp("id","key id")])},
}
# Console writes take application/json only (415 otherwise), placed after 409 like the others.
for item in paths.values():
    for o in item.values():
        if "requestBody" in o and "415" not in o["responses"]:
            r=o["responses"]; after=[k for k in r if k>"415"]
            o["responses"]={**{k:v for k,v in r.items() if k<"415"},**errs("415"),**{k:r[k] for k in after}}
schemas.update(named)
doc={"openapi":"3.0.3","info":{"title":"Tollgate console API","version":"0.1.0","description":"See docs/console-api.md. Errors are {\"error\":{\"code\",\"message\",\"field\"}}. Cookie-authenticated writes need X-CSRF-Token."},
 "servers":[{"url":"/api/v1"}],"security":[{"bearer":[]},{"cookie":[]}],
 "components":{"securitySchemes":{"bearer":{"type":"http","scheme":"bearer","description":"the token from POST /auth/login"},"cookie":{"type":"apiKey","in":"cookie","name":"tollgate_session"}},"schemas":schemas},"paths":paths}
print(json.dumps(doc,indent=1,ensure_ascii=False))
