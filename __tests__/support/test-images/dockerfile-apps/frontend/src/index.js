document.getElementById('root').textContent = 'API at ' + API.baseURL;
