// 挂图作战: the inspection's province coloured by cases per city, and the trends.
// Everything comes from this server: ECharts and the map (static/vendor), the figures
// (map/data/<inspection>, scoped to the user's regions).
(function () {
  "use strict";
  var root = document.getElementById("dashboard");
  if (!root || !root.dataset.inspection || !window.echarts) { return; }
  var base = root.dataset.base;
  function chart(id) { return echarts.init(document.getElementById(id)); }
  function bar(id, title, names, values, extra) {
    var c = chart(id);
    c.setOption(Object.assign({
      title: { text: title, left: "center", textStyle: { fontSize: 14 } },
      tooltip: { trigger: "axis" }, grid: { left: 50, right: 20, bottom: 60 },
      xAxis: { type: "category", data: names, axisLabel: { rotate: names.length > 8 ? 40 : 0 } },
      yAxis: { type: "value" }, series: [{ type: "bar", data: values, name: "案件数" }]
    }, extra || {}));
    return c;
  }
  fetch(base + "map/data/" + encodeURIComponent(root.dataset.inspection), { credentials: "same-origin" })
    .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
    .then(function (d) {
      document.getElementById("headline").textContent =
        d.name + "：可见案件 " + d.total + " 件（截至 " + d.as_of + "）";
      var cities = d.cities;
      var max = Math.max.apply(null, cities.map(function (c) { return c.cases; }).concat([1]));
      var charts = [];
      if (d.map) {
        fetch(base + d.map, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (geo) {
          echarts.registerMap("province", geo);
          var m = chart("chart-map");
          var back = document.getElementById("map-back");
          var shown = "province";
          m.on("finished", function () {
            if (shown === "province") { root.dataset.mapReady = "1"; } else { root.dataset.countyMap = shown; }
          });
          function draw(title, mapName, data, top, tip) {
            m.setOption({
              title: { text: title, left: "center", textStyle: { fontSize: 14 } },
              tooltip: { trigger: "item", formatter: tip },
              visualMap: { min: 0, max: top, left: 10, bottom: 10, text: ["多", "少"], calculable: true,
                           inRange: { color: ["#e0f3f8", "#fee090", "#f46d43", "#a50026"] } },
              series: [{ type: "map", map: mapName, roam: true, label: { show: true, fontSize: 10 }, data: data }]
            }, true);
          }
          function province() {
            shown = "province";
            back.hidden = true;
            draw("案件分布（按市州，点击市州看区县）", "province",
              cities.map(function (c) { return { name: c.name, value: c.cases }; }), max, function (p) {
                var c = cities.find(function (x) { return x.name === p.name; });
                return p.name + "<br>案件 " + (c ? c.cases : 0) + (c ? "<br>办结率 " + c.closure + "%<br>超期 " + c.overdue : "");
              });
          }
          // A city's counties, from its own map (vendored for the configured provinces).
          m.on("click", function (p) {
            var c = cities.find(function (x) { return x.name === p.name; });
            if (shown !== "province" || !c || !c.map) { return; }
            fetch(base + c.map, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (cityGeo) {
              echarts.registerMap("city-" + c.code, cityGeo);
              // The maps are of 2018: a county since renamed (宁乡县 → 宁乡市) is found by its stem.
              var stem = function (n) { return n.replace(/(自治县|县|市|区)$/, ""); };
              var byStem = {};
              cityGeo.features.forEach(function (f) { byStem[stem(f.properties.name)] = f.properties.name; });
              var own = d.counties.filter(function (k) { return k.city === c.name; }).map(function (k) {
                return { name: byStem[stem(k.name)] || k.name, cases: k.cases };
              });
              shown = c.name;
              back.hidden = false;
              draw(c.name + " 案件分布（按区县）", "city-" + c.code,
                own.map(function (k) { return { name: k.name, value: k.cases }; }),
                Math.max.apply(null, own.map(function (k) { return k.cases; }).concat([1])),
                function (q) { return q.name + "<br>案件 " + (q.value || 0); });
            });
          });
          back.addEventListener("click", province);
          province();
          charts.push(m);
        });
      } else {
        document.getElementById("chart-map").textContent = "本督察所在省份没有地图数据。";
      }
      charts.push(bar("chart-region", "各市州办结率与超期", cities.map(function (c) { return c.name; }),
        cities.map(function (c) { return c.cases; }), {
          legend: { bottom: 0 }, grid: { left: 50, right: 40, top: 40, bottom: 90 },
          yAxis: [{ type: "value", name: "件" }, { type: "value", name: "%", max: 100 }],
          series: [
            { type: "bar", name: "案件数", data: cities.map(function (c) { return c.cases; }) },
            { type: "bar", name: "超期", data: cities.map(function (c) { return c.overdue; }) },
            { type: "line", name: "办结率", yAxisIndex: 1, data: cities.map(function (c) { return c.closure; }) }
          ] }));
      charts.push(bar("chart-batch", "各批次案件与办结", d.batches.map(function (b) { return "第" + b.batch_no + "批"; }),
        d.batches.map(function (b) { return b.cases; }), { legend: { bottom: 0 }, grid: { left: 50, right: 40, top: 40, bottom: 90 }, series: [
          { type: "bar", name: "交办", data: d.batches.map(function (b) { return b.cases; }) },
          { type: "line", name: "办结", data: d.batches.map(function (b) { return b.closed; }) }] }));
      charts.push(bar("chart-type", "污染类型", d.types.map(function (t) { return t.type; }),
        d.types.map(function (t) { return t.cases; })));
      var s = chart("chart-status");
      s.setOption({ title: { text: "办理状态", left: "center", textStyle: { fontSize: 14 } }, tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["35%", "65%"], data: d.statuses.map(function (x) { return { name: x.status, value: x.cases }; }) }] });
      charts.push(s);
      var counties = d.counties.slice(0, 20);
      charts.push(bar("chart-county", "案件最多的区县", counties.map(function (c) { return c.city + c.name; }),
        counties.map(function (c) { return c.cases; })));
      window.addEventListener("resize", function () { charts.forEach(function (c) { c.resize(); }); });
      root.dataset.ready = "1";
    })
    .catch(function (e) { document.getElementById("headline").textContent = "数据加载失败：" + e.message; });
})();
